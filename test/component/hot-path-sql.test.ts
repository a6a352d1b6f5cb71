import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { createOrder as createOrderUseCase, type CreateOrderCommand } from '../../src/app/create-order';
import { closeDb, createDb } from '../../src/infra/db';
import { findOrderView } from '../../src/repo/order-view';
import { findOrder } from '../../src/repo/pay-orders';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { orderRequest, paidOrder, ref } from '../support/orders';
import { sessionStatements } from '../support/session-statements';

/**
 * CreateOrder and Query run their statements on the mariadb driver pool (src/repo/sql.ts), not through Prisma.
 * What Prisma did for them must still hold: the same values (BIGINT, DATETIME(3) as UTC, JSON), one statement
 * each, and keys matched byte for byte although utf8mb4_bin ignores trailing spaces.
 */
let h: Harness;
let TENANT: string;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-hotsql');
});
afterAll(() => h.close());

const db = () => h.service.deps.db;

/** An order written straight to the table (as a migration or an operator could), bypassing the API's rules. */
async function insertRaw(outOrderNo: string): Promise<string> {
  const payNo = uniq('PRAW')
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '')
    .slice(0, 32);
  await db().$executeRaw`
    INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way, status,
      notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at)
    VALUES (${payNo}, ${TENANT}, ${outOrderNo}, 100, 'CNY', 'raw', '', '', '', 'WAIT_PAY', 't', '', '{}', '', '', 1800,
      NOW(3), NOW(3), NOW(3))`;
  return payNo;
}

function command(over: Partial<CreateOrderCommand> = {}): CreateOrderCommand {
  const { payWay: _, expireSeconds: __, ...req } = orderRequest(TENANT);
  return { ...req, payWay: '', expireSeconds: 1800, ...over };
}

describe('CreateOrder and Query on the driver pool', () => {
  it('When an order is read by findOrder, then it equals what Prisma reads, field for field and type for type', async () => {
    const order = await paidOrder(h, TENANT, 3000n);
    await db().payOrder.update({
      where: { payNo: order.payNo },
      data: { amount: 2n ** 53n + 7n, extra: { 'clé 🍵': 'v\u00e9', k: '' }, version: 2n ** 60n, closeReason: 'EXPIRED' },
    });
    const prisma = await db().payOrder.findUnique({ where: { payNo: order.payNo } });
    expect(prisma!.paidAt).toBeInstanceOf(Date);
    expect(await findOrder(db(), { tenantId: TENANT, payNo: order.payNo })).toEqual(prisma);
    expect(await findOrder(db(), { tenantId: TENANT, outOrderNo: order.outOrderNo })).toEqual(prisma);
  });

  it('When the service runs in a process started in a time zone other than UTC, then the driver writes and reads UTC', async () => {
    // In a child process: Jest's process.env is a copy, so setting TZ inside a test changes no Date.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/support/tz-child.ts'], {
      env: { ...process.env, TZ: 'Asia/Shanghai' }, // +08:00: a Date sent in local time would land eight hours off
    });
    expect(JSON.parse(stdout)).toEqual({ offsetMinutes: 0, sent: '2026-03-04 02:07:31.500000', read: '2026-03-04T02:07:31.500Z' });
  });

  it('When CreateOrder runs, then the row holds the UTC times it answered with', async () => {
    const now = new Date('2026-03-04T05:06:07.089Z');
    const { order } = await createOrderUseCase({ ...h.service.deps, now: () => now }, command({ extra: { a: '1' } }));
    const stored = await db().payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(stored).toEqual({ ...order, id: stored.id });
    expect([stored.createdAt, stored.updatedAt, stored.expireAt]).toEqual([now, now, new Date('2026-03-04T05:36:07.089Z')]);
    const [raw] = await db().$queryRaw<{ created: string }[]>`
      SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f') AS created FROM pay_order WHERE pay_no = ${order.payNo}`;
    expect(raw.created).toBe('2026-03-04 05:06:07.089000');
    expect(await findOrder(db(), { tenantId: TENANT, payNo: order.payNo })).toEqual(stored);
  });

  it('When an order is stored as "X " and a CreateOrder names "X", then it is not replayed as that order', async () => {
    const out = uniq('TS');
    const payNo = await insertRaw(`${out} `);
    const e = await grpcError(h.call('createOrder', orderRequest(TENANT, { outOrderNo: out })), status.INTERNAL);
    expect(e.details).not.toContain(payNo);
    expect(await findOrder(db(), { tenantId: TENANT, outOrderNo: out })).toBeNull();
    expect(await findOrderView(db(), { tenantId: TENANT, outOrderNo: out })).toBeNull();
    expect(await findOrder(db(), { tenantId: TENANT, outOrderNo: `${out} ` })).toMatchObject({ payNo });
  });

  it('When an order is "X" and a lookup names "X " or its pay_no with a trailing space, then there is no such order', async () => {
    const { order } = await h.call('createOrder', orderRequest(TENANT));
    const spaced = [
      { tenantId: TENANT, outOrderNo: `${order!.outOrderNo} ` },
      { tenantId: TENANT, payNo: `${order!.payNo} ` },
      { tenantId: `${TENANT} `, payNo: order!.payNo },
    ];
    for (const r of spaced) {
      expect(await findOrder(db(), r)).toBeNull();
      expect(await findOrderView(db(), r)).toBeNull();
    }
    await expect(createOrderUseCase(h.service.deps, command({ outOrderNo: `${order!.outOrderNo} ` }))).rejects.toThrow();
    expect(await db().payOrder.count({ where: { tenantId: TENANT, outOrderNo: order!.outOrderNo } })).toBe(1);
  });

  it('When CreateOrder runs, then it is one INSERT; a replay is that INSERT and one SELECT; each prepared once per connection', async () => {
    const client = createDb(process.env.DATABASE_URL!, 1);
    try {
      const deps = { ...h.service.deps, db: client, timeouts: { schedule: async () => {} } };
      const count = await sessionStatements(client);
      const cmd = command();
      await createOrderUseCase(deps, command()); // prepares the INSERT on this connection
      await createOrderUseCase(deps, cmd).then(() => createOrderUseCase(deps, cmd)); // and the SELECT
      await count();
      const fresh = await createOrderUseCase(deps, command());
      expect([fresh.replayed, await count()]).toEqual([false, { questions: 1, prepares: 0 }]);
      const replay = await createOrderUseCase(deps, cmd);
      expect([replay.replayed, await count()]).toEqual([true, { questions: 2, prepares: 0 }]);
      const conflict = createOrderUseCase(deps, { ...cmd, amount: cmd.amount + 1n });
      await expect(conflict).rejects.toMatchObject({ fields: ['amount'] });
    } finally {
      await closeDb(client);
    }
  });

  it('When a replay is identical, then it returns the stored order exactly as Query shows it', async () => {
    const req = orderRequest(TENANT, { extra: { k: 'v' }, attach: 'a', userId: 'u-9' });
    const first = await h.call('createOrder', req);
    const again = await h.call('createOrder', req);
    expect(again).toEqual({ ...first, replayed: true });
    const { order } = await h.call('query', { order: ref(first.order!), sync: false });
    expect(order).toEqual({ ...first.order, attempts: [], refunds: [], transitions: [] });
  });
});
