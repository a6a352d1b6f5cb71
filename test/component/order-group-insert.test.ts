import { newPayNo } from '../../src/domain/ids';
import { closeDb, createDb, type Db } from '../../src/infra/db';
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
  it('When twenty orders are created at once, then two INSERTs store them, each as its caller was answered', async () => {
    const orders = Array.from({ length: 20 }, () => newOrder());
    const before = sqlOf(db).statements;
    const answered = await Promise.all(orders.map((o) => insertOrder(db, o)));
    expect(sqlOf(db).statements - before).toBe(2); // the first alone, the nineteen that came meanwhile together
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
});
