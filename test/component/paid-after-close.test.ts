import { OrderStatus, NotifyResult, type PayOrder } from '../../src/gen/payment/v1/types';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';

/** These tests rely on the status query an unverifiable notify or a close schedules: let it run at once. */
const SYNC_SOON = '150,300,600';
import { paidAfterCancel as paidAfterCancelAt, ref } from '../support/orders';

const paidAfterCancel = async (h: Harness, ali: AlipayTenant): Promise<PayOrder> => (await paidAfterCancelAt(h, ali, 3300n)).order;

const events = (h: Harness, o: PayOrder) =>
  h.service.deps.db.outboxEvent.findMany({ where: { payNo: o.payNo }, orderBy: { orderVersion: 'asc' } }).then((e) => e.map((x) => x.type));

describe.each([
  ['refund', OrderStatus.ORDER_STATUS_REFUNDED, ['ORDER_CLOSED', 'PAID_AFTER_CLOSE', 'REFUND_SUCCEEDED']],
  ['reopen', OrderStatus.ORDER_STATUS_SUCCESS, ['ORDER_CLOSED', 'PAID_AFTER_CLOSE', 'PAYMENT_SUCCEEDED']],
] as const)('a payment after close, policy %s', (policy, finalStatus, expectedEvents) => {
  let h: Harness;
  let ali: AlipayTenant;
  beforeAll(async () => {
    h = await startHarness({ PAID_AFTER_CLOSE_POLICY: policy, STATUS_SYNC_DELAYS_MS: SYNC_SOON });
    ali = await alipayTenant(h, await newTenant(h, 't-pac'));
  });
  afterAll(async () => {
    await ali.close();
    await h.close();
  });

  it(`When the channel confirms a payment for a closed order, then it is never dropped: the order ends ${OrderStatus[finalStatus]}`, async () => {
    const order = await paidAfterCancel(h, ali);
    const settled = await eventually(async () => {
      const o = (await h.call('query', { order: ref(order), sync: false })).order!;
      return o.status === finalStatus && o;
    });
    expect(await events(h, order)).toEqual(expectedEvents);
    const trail = await h.service.deps.db.orderTransition.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => t.toStatus)).toEqual(['PAYING', 'CLOSED', 'PAID_AFTER_CLOSE', policy === 'refund' ? 'REFUNDED' : 'SUCCESS']);
    if (policy === 'refund') {
      expect(settled.refunds.map((r) => [r.outRefundNo, r.amount])).toEqual([[`AUTO-${order.payNo}`, 3300n]]);
      const attempt = await h.service.deps.db.payAttempt.findFirstOrThrow({ where: { payNo: order.payNo } });
      expect(ali.sandbox.refundedTotal(attempt.attemptNo)).toBe(3300n);
    }
    // Every notify about the order is listed, with what became of it. The payment reaches the order through the
    // notify or through the status query scheduled soon after the close, whichever comes first; the notify that
    // comes second finds it applied (IGNORED).
    const { notifies } = await eventually(async () => {
      const listed = await h.call('listNotifies', { pageSize: 0, pageToken: '', order: ref(order) });
      return listed.notifies.some((n) => n.channel === 'alipay' && n.signatureValid) && listed;
    });
    const applied = [NotifyResult.NOTIFY_RESULT_PROCESSED, NotifyResult.NOTIFY_RESULT_IGNORED];
    expect(notifies.filter((n) => n.signatureValid).every((n) => n.channel === 'alipay' && applied.includes(n.result))).toBe(true);
    expect(notifies.every((n) => n.rawPayload.includes('out_trade_no='))).toBe(true);
  });

  it('When every notify of the late payment fails verification, then the status query it triggers still finds it', async () => {
    ali.sandbox.inject({ kind: 'badNotifySignature' }, 1000);
    const order = await paidAfterCancel(h, ali);
    await eventually(async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === finalStatus);
    const trail = await h.service.deps.db.orderTransition.findMany({ where: { payNo: order.payNo, toStatus: 'PAID_AFTER_CLOSE' } });
    expect(trail.map((t) => t.cause)).toEqual(['SYNC']);
  });
});
