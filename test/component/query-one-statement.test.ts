import { status } from '@grpc/grpc-js';
import { queryOrder } from '../../src/app/query-order';
import { orderToProto } from '../../src/grpc/mappers';
import { closeDb, createDb, sqlPool } from '../../src/infra/db';
import { listTransitions } from '../../src/repo/history';
import { findOrderView, VIEW_PARTS, type ColumnKind } from '../../src/repo/order-view';
import { findOrderWithChildren, type OrderRef } from '../../src/repo/pay-orders';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';
import { sessionStatements } from '../support/session-statements';

let h: Harness;
let TENANT: string;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-query1');
});
afterAll(() => h.close());

/** The reader Query used before: the order with its attempts and refunds (Prisma include), then its transitions. */
async function oldReader(r: OrderRef) {
  const order = await findOrderWithChildren(h.service.deps.db, r);
  return order && { ...order, transitions: await listTransitions(h.service.deps.db, order.payNo) };
}

const BIG = 2n ** 53n + 7n; // a JS double would turn it into 2^53 + 8

/** A paid order with a partial refund, then a second attempt, amounts above 2^53 and millisecond timestamps. */
async function busyOrder() {
  const order = await paidOrder(h, TENANT, 3000n);
  await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 1000n, reason: 'part' });
  const db = h.service.deps.db;
  const first = await db.payAttempt.findFirstOrThrow({ where: { payNo: order.payNo } });
  const second = uniq('AT');
  await db.payAttempt.create({
    data: {
      ...first,
      id: undefined,
      attemptNo: second,
      payload: undefined,
      channelRecords: undefined,
      status: 'CLOSED',
      channelTradeNo: null,
      createdAt: new Date('2026-01-02T03:04:05.678Z'),
      updatedAt: new Date('2026-01-02T03:04:05.009Z'),
    },
  });
  // The payload as text, so a number wider than a double reaches the database as written.
  await db.$executeRaw`UPDATE pay_attempt SET payload = ${'{"kind": "qr", "big": 12345678901234567890, "nested": {"a": [1, "x", null]}, "text": "é\\"\\\\\\n"}'} WHERE attempt_no = ${second}`;
  await db.payOrder.update({ where: { payNo: order.payNo }, data: { amount: BIG, refundedAmount: BIG - 1n, version: BIG + 2n } });
  await db.refund.updateMany({
    where: { payNo: order.payNo },
    data: { amount: BIG - 1n, failureReason: 'tab\there', duplicate: true, succeededAt: new Date('2026-01-02T03:04:05.432Z') },
  });
  await db.orderTransition.create({
    data: {
      payNo: order.payNo,
      fromStatus: 'SUCCESS',
      toStatus: 'SUCCESS',
      cause: 'RPC',
      actor: 'x',
      detail: '',
      createdAt: new Date('2026-01-02T03:04:05.001Z'),
    },
  });
  return order;
}

describe('Query (sync=false) reads the order in one statement', () => {
  it('When an order has 2 attempts, a partial refund and several transitions, then the answer equals the old reader exactly', async () => {
    const order = await busyOrder();
    // A JSON column holding a bare JSON string (never written by the service): read as the string, as Prisma reads it.
    await h.service.deps.db.$executeRaw`UPDATE refund SET channel_records = ${'"just text"'} WHERE pay_no = ${order.payNo}`;
    for (const r of [
      { tenantId: TENANT, payNo: order.payNo },
      { tenantId: TENANT, outOrderNo: order.outOrderNo },
    ]) {
      const old = await oldReader(r);
      const now = await findOrderView(h.service.deps.db, r);
      expect(old!.attempts).toHaveLength(2);
      expect(old!.attempts[1].payload).toMatchObject({ text: 'é"\\\n', nested: { a: [1, 'x', null] } });
      expect(old!.refunds).toHaveLength(1);
      expect(old!.refunds[0]).toMatchObject({ duplicate: true, channelRecords: 'just text' });
      expect(old!.transitions.length).toBeGreaterThanOrEqual(3);
      expect(now).toEqual(old);
    }
  });

  it('When such an order is queried over gRPC by pay_no or out_order_no, then the answer is the old records mapped', async () => {
    const order = await busyOrder();
    const old = (await oldReader({ tenantId: TENANT, payNo: order.payNo }))!;
    const expected = { order: orderToProto(old, old.attempts, old.refunds, old.transitions) };
    expect(expected.order.amount).toBe(BIG);
    expect(await h.call('query', { order: ref(order), sync: false })).toEqual(expected);
    const byOut = { tenantId: TENANT, key: { $case: 'outOrderNo' as const, value: order.outOrderNo } };
    expect(await h.call('query', { order: byOut, sync: false })).toEqual(expected);
  });

  it('When an order has no attempts, refunds or transitions, then they are empty lists, as before', async () => {
    const order = await createOrder(h, TENANT);
    const r = { tenantId: TENANT, payNo: order.payNo };
    const now = await findOrderView(h.service.deps.db, r);
    expect(now).toEqual(await oldReader(r));
    expect([now!.attempts, now!.refunds, now!.transitions]).toEqual([[], [], []]);
  });

  it('When an order has a long history (2,500 transitions, ~1.4 MB), then Query returns all of it, oldest first', async () => {
    const order = await createOrder(h, TENANT);
    const detail = 'x'.repeat(500);
    const rows = Array.from(
      { length: 2500 },
      (_, i) => `('${order.payNo}', 'WAIT_PAY', 'WAIT_PAY', 'RPC', 'test', '${detail}${i}', NOW(3))`,
    );
    await h.service.deps.db.$executeRawUnsafe(
      `INSERT INTO order_transition (pay_no, from_status, to_status, cause, actor, detail, created_at) VALUES ${rows.join(', ')}`,
    );
    const view = await findOrderView(h.service.deps.db, { tenantId: TENANT, payNo: order.payNo });
    expect(view!.transitions.length).toBe(2500); // what a JSON_ARRAYAGG would have cut at group_concat_max_len (1 MiB)
    expect(view!.transitions.at(-1)!.detail).toBe(`${detail}2499`);
  });

  it('When another tenant names the order by pay_no or out_order_no, then NOT_FOUND (ORDER_NOT_FOUND)', async () => {
    const order = await createOrder(h, TENANT);
    const other = await newTenant(h, 't-query1-other');
    for (const key of [
      { $case: 'payNo' as const, value: order.payNo },
      { $case: 'outOrderNo' as const, value: order.outOrderNo },
    ]) {
      const e = await grpcError(h.call('query', { order: { tenantId: other, key }, sync: false }), status.NOT_FOUND);
      expect(e.details).toContain('order not found');
    }
  });

  it('When Query (sync=false) runs, then the server sees exactly one SQL statement, prepared once per connection', async () => {
    const order = await busyOrder();
    const db = createDb(process.env.DATABASE_URL!, 1); // one connection: Prisma's and the driver's statements alike
    try {
      const deps = { ...h.service.deps, db };
      const counts = await sessionStatements(db);
      await findOrderWithChildren(db, { tenantId: TENANT, payNo: order.payNo });
      await listTransitions(db, order.payNo);
      expect((await counts()).questions).toBeGreaterThanOrEqual(3); // it sees every statement of the old path
      for (const r of [
        { tenantId: TENANT, payNo: order.payNo },
        { tenantId: TENANT, outOrderNo: order.outOrderNo },
      ]) {
        await queryOrder(deps, r, false, { actor: 'test' }); // the first call on a connection prepares the statement
        await counts();
        const answer = await queryOrder(deps, r, false, { actor: 'test' });
        const { questions, prepares } = await counts();
        expect([questions, prepares]).toEqual([1, 0]);
        expect(answer.attempts).toHaveLength(2);
      }
    } finally {
      await closeDb(db);
    }
  });
});

describe("Query's union: one kind of column per place", () => {
  it('When each column the view reads is looked up in information_schema, then it has the kind the layout gives it', async () => {
    // A wrong kind would share a place with another kind and come back converted (an INT as a BigInt, a DATETIME
    // as text), so the layout's kinds are the schema's, column for column.
    const rows = await sqlPool(h.service.deps.db).query<
      { t: string; c: string; dataType: string; columnType: string; precision: number | null; json: bigint }[]
    >(
      `SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.DATA_TYPE AS dataType, c.COLUMN_TYPE AS columnType,
              c.DATETIME_PRECISION AS \`precision\`,
              (SELECT COUNT(*) FROM information_schema.CHECK_CONSTRAINTS k
                WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                  AND k.CHECK_CLAUSE LIKE CONCAT('%json_valid(\`', c.COLUMN_NAME, '\`)%')) AS json
         FROM information_schema.COLUMNS c
        WHERE c.TABLE_SCHEMA = DATABASE() AND c.TABLE_NAME IN (?)`,
      [VIEW_PARTS.map((p) => p.table)],
    );
    const kindOf = (r: (typeof rows)[number]): string => {
      if (r.json > 0n) return 'json';
      if (r.columnType === 'bigint(20)') return 'bigint';
      if (r.columnType === 'int(11)') return 'int';
      if (r.columnType === 'tinyint(1)') return 'bool';
      if (r.dataType === 'datetime' && Number(r.precision) === 3) return 'dt3';
      if (r.dataType === 'char') return 'char';
      if (r.dataType === 'varchar' || r.dataType === 'enum') return 'str';
      return `unplaced: ${r.columnType}`;
    };
    const schema = new Map(rows.map((r) => [`${r.t}.${r.c}`, kindOf(r)]));
    for (const part of VIEW_PARTS) {
      const declared = part.columns.map((c, i) => `${part.table}.${c} ${part.kinds[i]}`);
      expect(declared).toEqual(part.columns.map((c) => `${part.table}.${c} ${schema.get(`${part.table}.${c}`)}`));
    }
    // And every place holds one kind, whichever branch fills it.
    const kindsAt = new Map<number, Set<ColumnKind>>();
    for (const part of VIEW_PARTS) part.places.forEach((at, i) => kindsAt.set(at, (kindsAt.get(at) ?? new Set()).add(part.kinds[i])));
    expect([...kindsAt.values()].filter((kinds) => kinds.size > 1)).toEqual([]);
    expect(kindsAt.size).toBeLessThan(VIEW_PARTS.reduce((n, p) => n + p.columns.length, 0));
  });
});
