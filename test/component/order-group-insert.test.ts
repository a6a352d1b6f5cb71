import { newPayNo } from '../../src/domain/ids';
import { closeDb, createDb, sqlPool, type Db } from '../../src/infra/db';
import { findOrder, insertOrder, type NewOrder } from '../../src/repo/pay-orders';
import { sqlOf } from '../../src/repo/sql';
import { isUniqueViolation } from '../../src/repo/tx';
import { uniq } from '../support/harness';

/**
 * CreateOrder's INSERT is group-committed (src/repo/group-insert.ts): the orders created while one INSERT is on the
 * wire share the next. Each caller's promise still means its own row is committed, and a unique violation (a replay,
 * two identical requests in one group) reaches only the caller whose row it is.
 */
let db: Db;
beforeAll(() => {
  db = createDb(process.env.DATABASE_URL!, 4); // a client of its own: nothing else counts on its runner
});
afterAll(() => closeDb(db));

const TENANT = 't-group-insert';

function newOrder(outOrderNo = uniq('OG'), over: Partial<NewOrder> = {}): NewOrder {
  const now = new Date();
  return {
    payNo: newPayNo(now),
    tenantId: TENANT,
    outOrderNo,
    amount: 2n ** 53n + 11n,
    currency: 'CNY',
    subject: '商品 Café 🍵',
    description: '',
    userId: 'u-1',
    payWay: '',
    notifyTopic: 'order.pay.notify',
    attach: 'a',
    extra: { k: 'v', n: '1' },
    clientIp: '',
    returnUrl: '',
    expireSeconds: 1800,
    expireAt: new Date(now.getTime() + 1_800_000),
    createdAt: now,
    ...over,
  };
}

describe("CreateOrder's INSERT, grouped", () => {
  it('When twenty orders are created at once, then five INSERTs store them (four alone, sixteen together), each as its caller was answered', async () => {
    const orders = Array.from({ length: 20 }, () => newOrder());
    const before = sqlOf(db).statements;
    const answered = await Promise.all(orders.map((o) => insertOrder(db, o)));
    expect(sqlOf(db).statements - before).toBe(5);
    for (const a of answered) {
      const stored = await findOrder(db, { tenantId: TENANT, payNo: a.payNo });
      expect(stored).toEqual({ ...a, id: stored!.id });
    }
  });

  it('When a group holds a replay and two identical new orders, then each of those three callers alone gets its answer', async () => {
    const existing = newOrder();
    await insertOrder(db, existing);
    const twin = uniq('OT');
    const group = [newOrder(), newOrder(existing.outOrderNo), newOrder(twin), newOrder(twin), newOrder()];
    const outcomes = await Promise.allSettled(group.map((o) => insertOrder(db, o)));
    const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [[i, isUniqueViolation(o.reason)]] : []));
    // The replay fails on the unique key; of the twins exactly one is stored, the other fails on it.
    expect(failed.map(([, unique]) => unique)).toEqual([true, true]);
    expect(failed[0][0]).toBe(1);
    expect([2, 3]).toContain(failed[1][0]);
    for (const [i, o] of group.entries()) {
      const stored = await findOrder(db, { tenantId: TENANT, outOrderNo: o.outOrderNo });
      if (i === 1) expect(stored!.payNo).toBe(existing.payNo);
      else if (outcomes[i].status === 'fulfilled') expect(stored!.payNo).toBe(o.payNo);
    }
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
  });

  it('When one INSERT waits on a lock, then the orders created behind it are not held up', async () => {
    // Another session inserted the same (tenant, out_order_no) and has not committed: an INSERT of it waits.
    const holder = createDb(process.env.DATABASE_URL!, 1);
    const conn = await sqlPool(holder).getConnection();
    try {
      // Below every other out_order_no here: the waiting INSERT's lock request covers the gap before the held row
      // (InnoDB), which would hold up inserts into that gap however they were sent.
      const held = uniq('OA');
      await conn.query('BEGIN');
      await conn.query(
        `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way, status,
           notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at)
         VALUES (?, ?, ?, 1, 'CNY', 'held', '', '', '', 'WAIT_PAY', 't', '', '{}', '', '', 1800, NOW(3), NOW(3), NOW(3))`,
        [newPayNo(new Date()), TENANT, held],
      );
      let waitingSettled = false;
      const waiting = insertOrder(db, newOrder(held)).finally(() => (waitingSettled = true));
      waiting.catch(() => undefined);
      const behind = Array.from({ length: 12 }, () => newOrder());
      await Promise.all(behind.map((o) => insertOrder(db, o)));
      expect(waitingSettled).toBe(false); // still waiting on the lock while the twelve were stored
      await conn.query('ROLLBACK');
      await expect(waiting).resolves.toMatchObject({ outOrderNo: held });
    } finally {
      await conn.release();
      await closeDb(holder);
    }
  });
});
