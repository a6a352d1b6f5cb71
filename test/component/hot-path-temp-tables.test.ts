import { PayWay } from '../../src/gen/payment/v1/types';
import { mockAccount, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { createOrder, paidOrder, prepaidOrder, ref } from '../support/orders';
import { sessionTempTables } from '../support/session-statements';
import { expireOrder } from '../../src/app/expire-order';
import { syncAttemptByNo, syncRefundByNo } from '../../src/app/sync-attempt';

/**
 * No statement of a payment's hot path makes MariaDB build an internal temporary table. Such a table goes to disk
 * (Aria) whenever a JSON or TEXT column is in it, and every payload column is one: it is created, written and
 * deleted as files on every execution. A profile of MariaDB under the CreateOrder + Prepay bench found two per
 * Prepay (its read of the order and attempts sorted the join on the attempt's id; the UPDATE that opens the attempt
 * was a multi-table UPDATE, which stages the second table's changes in one): ~15 % of MariaDB's CPU in file
 * creation, opens and deletes.
 *
 * Counted on the server's own session counters: the service runs on one pooled connection here, so what that
 * session counts is what the requests ran (no background passes share it).
 */
let h: Harness;
let TENANT: string;
beforeAll(async () => {
  h = await startHarness({ WORKERS_ENABLED: 'false', DATABASE_POOL_SIZE: '1' });
  TENANT = await newTenant(h, 't-tmptables');
  tempTables = await sessionTempTables(h.service.deps.db);
});
afterAll(() => h.close());

/** Internal temporary tables the service's one session created since the previous call, and how many on disk. */
let tempTables: () => Promise<{ tables: number; onDisk: number }>;

describe('temporary tables on the hot paths', () => {
  it('When an order is created, prepaid, notified (first and duplicate) and queried, then no step makes a temporary table', async () => {
    const notify = (attemptNo: string, notifyId: string) =>
      postMockNotify(
        h,
        TENANT,
        mockPaymentNotify(h, attemptNo, {
          notify_id: notifyId,
          ...(h.gateway.trade(attemptNo) ? {} : { mch_id: mockAccount(h, TENANT).merchantId, amount: '2500' }),
        }),
      );
    await tempTables(); // SHOW STATUS itself makes none: a baseline, and a check of that below
    expect(await tempTables()).toEqual({ tables: 0, onDisk: 0 });

    const order = await createOrder(h, TENANT, { amount: 2500n });
    const created = await tempTables();
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    const prepaid = await tempTables();
    const notifyId = uniq('N');
    expect((await notify(pre.attemptNo, notifyId)).status).toBe(200);
    const applied = await tempTables();
    expect((await notify(pre.attemptNo, notifyId)).status).toBe(200);
    const duplicate = await tempTables();
    const { order: queried } = await h.call('query', { order: ref(order), sync: false });
    const read = await tempTables();

    expect(queried!.attempts).toHaveLength(1);
    expect({ created, prepaid, applied, duplicate, read }).toEqual({
      created: { tables: 0, onDisk: 0 },
      prepaid: { tables: 0, onDisk: 0 },
      applied: { tables: 0, onDisk: 0 },
      duplicate: { tables: 0, onDisk: 0 },
      read: { tables: 0, onDisk: 0 },
    });
  });

  it('When an order is synced, cancelled, expired, refunded and its refund synced, then no step makes a temporary table', async () => {
    const deps = h.service.deps;
    const open = await prepaidOrder(h, TENANT, 2500n);
    const waiting = await createOrder(h, TENANT, { amount: 2500n });
    const paying = await prepaidOrder(h, TENANT, 2500n);
    const paid = await paidOrder(h, TENANT, 3000n);
    // Due now: the two to be expired, as the timeout job finds them.
    await deps.db.payOrder.updateMany({
      where: { payNo: { in: [waiting.payNo, paying.order.payNo] } },
      data: { expireAt: new Date(Date.now() - 1000) },
    });
    await tempTables();
    await syncAttemptByNo(deps, open.attemptNo);
    const synced = await tempTables();
    await h.call('cancel', { order: ref(open.order), reason: 'changed my mind' });
    const cancelled = await tempTables();
    await expireOrder(deps, TENANT, waiting.payNo);
    const expiredUnpaid = await tempTables();
    await expireOrder(deps, TENANT, paying.order.payNo);
    const expiredPaying = await tempTables();
    const { refund } = await h.call('refund', { order: ref(paid), outRefundNo: uniq('RF'), amount: 1000n, reason: 'part' });
    const refunded = await tempTables();
    await syncRefundByNo(deps, refund!.refundNo);
    const refundSynced = await tempTables();
    const statuses = await deps.db.payOrder.findMany({
      where: { payNo: { in: [open.order.payNo, waiting.payNo, paying.order.payNo, paid.payNo] } },
      select: { payNo: true, status: true },
    });
    expect(Object.fromEntries(statuses.map((o) => [o.payNo, o.status]))).toEqual({
      [open.order.payNo]: 'CLOSED',
      [waiting.payNo]: 'CLOSED',
      [paying.order.payNo]: 'CLOSED',
      [paid.payNo]: 'PARTIAL_REFUNDED',
    });
    // Passed before stop 39's change too: a guard, so the colder paths stay as clean as the hot ones.
    const none = { tables: 0, onDisk: 0 };
    expect({ synced, cancelled, expiredUnpaid, expiredPaying, refunded, refundSynced }).toEqual({
      synced: none,
      cancelled: none,
      expiredUnpaid: none,
      expiredPaying: none,
      refunded: none,
      refundSynced: none,
    });
  });
});
