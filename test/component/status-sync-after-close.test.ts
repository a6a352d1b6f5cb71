import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { expireOrder } from '../../src/app/expire-order';

/**
 * Found by the chaos run (issue 16, `npm run chaos`, a 5-minute run): an order cancelled, then paid at Alipay
 * anyway (a payment after close), whose notify never came, stayed CLOSED with the payment lost. After a close,
 * status sync asks on the PSync schedule "so a payment that slipped in as it closed is found without its notify",
 * but its first round heard "closed" and, that being no pending answer, asked nothing more: a payment made after
 * that first round was never found (the daily reconciliation would have been the first to see it).
 */
describe('A payment made at the channel after the order was closed, whose notify never comes', () => {
  let h: Harness;
  let ali: AlipayTenant;
  beforeAll(async () => {
    h = await startHarness({ STATUS_SYNC_DELAYS_MS: '300,600,900', PAID_AFTER_CLOSE_POLICY: 'refund' });
    ali = await alipayTenant(h, await newTenant(h, 't-ali-late'));
  });
  afterAll(async () => {
    await ali.close();
    await h.close();
  });

  /** The sync round `round` of the attempt, while it is due or running (done jobs are removed). */
  const syncRound = (attemptNo: string, round: number) => h.service.deps.jobs.statusSync.queue.getJob(`psync-${attemptNo}-${round}`);

  it('When the buyer pays after the first post-close sync round, then a later round of the schedule finds it: PAID_AFTER_CLOSE, refunded', async () => {
    const order = await createOrder(h, ali.tenantId, { amount: 4321n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
    ali.sandbox.scan(pre.attemptNo);
    const scheduled = jest.spyOn(h.service.deps.jobs.statusSync, 'schedule');
    const cancelled = await h.call('cancel', { order: ref(order), reason: 'the shop closed it' });
    expect(cancelled.order?.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    // The close scheduled the first round (its 300 ms job may already have run: asked once the job is gone).
    expect(scheduled).toHaveBeenCalledWith(pre.attemptNo);
    scheduled.mockRestore();
    await eventually(async () => (await syncRound(pre.attemptNo, 0)) === undefined);
    await eventually(async () => ali.sandbox.notifiesPending() === 0); // the close notify went out

    ali.sandbox.inject({ kind: 'outOfOrderNotify' }, 1); // held for the trade's next close/refund notify: never sent
    ali.sandbox.inject({ kind: 'successAfterClose' }, 1);
    ali.sandbox.pay(pre.attemptNo);
    expect(ali.sandbox.trade(pre.attemptNo)?.paidAt).toBeDefined();

    const found = await eventually(async () => {
      const { order: o } = await h.call('query', { order: ref(order), sync: false });
      return [OrderStatus.ORDER_STATUS_PAID_AFTER_CLOSE, OrderStatus.ORDER_STATUS_REFUNDED].includes(o!.status) && o;
    }, 20_000);
    expect(found.amount).toBe(4321n);
  });

  it('When the order expires and the buyer pays after its closing query, then the schedule after the timeout finds it', async () => {
    const order = await createOrder(h, ali.tenantId, { amount: 1234n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
    ali.sandbox.scan(pre.attemptNo);
    // The Prepay's own rounds run out first (in production they end minutes before a 30-minute order expires).
    await eventually(async () => (await syncRound(pre.attemptNo, 2)) === undefined && (await syncRound(pre.attemptNo, 0)) === undefined);
    const db = h.service.deps.db;
    await db.$executeRaw`UPDATE pay_order SET expire_at = ${new Date(Date.now() - 1000)} WHERE pay_no = ${order.payNo}`;
    // The timeout closes the trade and asks once (queryAfterClose); that used to be the last question.
    const scheduled = jest.spyOn(h.service.deps.jobs.statusSync, 'schedule');
    expect(await expireOrder(h.service.deps, ali.tenantId, order.payNo)).toEqual({ kind: 'done', status: 'CLOSED' });
    expect(scheduled).toHaveBeenCalledWith(pre.attemptNo);
    scheduled.mockRestore();
    await eventually(async () => (await syncRound(pre.attemptNo, 0)) === undefined);
    await eventually(async () => ali.sandbox.notifiesPending() === 0);

    ali.sandbox.inject({ kind: 'outOfOrderNotify' }, 1);
    ali.sandbox.inject({ kind: 'successAfterClose' }, 1);
    ali.sandbox.pay(pre.attemptNo);
    const found = await eventually(async () => {
      const { order: o } = await h.call('query', { order: ref(order), sync: false });
      return [OrderStatus.ORDER_STATUS_PAID_AFTER_CLOSE, OrderStatus.ORDER_STATUS_REFUNDED].includes(o!.status) && o;
    }, 20_000);
    expect(found.amount).toBe(1234n);
  });
});
