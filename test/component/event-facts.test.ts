import { startOrderConsumer } from '../../examples/order-consumer';
import { applyTradeStatus } from '../../src/app/apply-trade-status';
import { expireOrder } from '../../src/app/expire-order';
import { PaymentEventType, type PaymentEvent } from '../../src/gen/payment/v1/events';
import { CloseReason, OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/**
 * Issue 11 §3: why an order closed (PayOrder.close_reason, on Query and on the events), and events that say what
 * happened (paid_at, pay way, channel, channel trade no; the refund itself), read from the real topic queue.
 */
let h: Harness;
let topic: string;
let tenant: string;
let consumer: ReturnType<typeof startOrderConsumer>;
const seen: PaymentEvent[] = [];
const prefix = `{${uniq('evf')}}`;

beforeAll(async () => {
  h = await startHarness({ EVENT_QUEUE_PREFIX: prefix });
  topic = uniq('orders.facts.');
  tenant = await newTenant(h, 'tfacts');
  consumer = startOrderConsumer({ connection: h.service.deps.queueRedis, prefix, topic, onEvent: (e) => seen.push(e) });
});
afterAll(async () => {
  await consumer.worker.close();
  await h.close();
});
afterEach(() => h.gateway.holdRefunds(false));

const order = () => createOrder(h, tenant, { notifyTopic: topic, amount: 5000n });
const prepay = (o: PayOrder) => h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
const query = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
/** The event of that type for the order, as the order side received it from its topic queue. */
const received = (o: PayOrder, type: PaymentEventType) =>
  eventually(() => Promise.resolve(seen.find((e) => e.payNo === o.payNo && e.type === type)), 10000);

describe('why an order closed', () => {
  it('When the caller cancels an order, then Query and ORDER_CLOSED say CANCELLED', async () => {
    const o = await order();
    await h.call('cancel', { order: ref(o), reason: 'buyer changed mind' });
    expect(await query(o)).toMatchObject({ status: OrderStatus.ORDER_STATUS_CLOSED, closeReason: CloseReason.CLOSE_REASON_CANCELLED });
    const event = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_ORDER_CLOSED);
    expect(event.closeReason).toBe(CloseReason.CLOSE_REASON_CANCELLED);
    expect(consumer.store.orders.get(o.payNo)).toMatchObject({
      status: OrderStatus.ORDER_STATUS_CLOSED,
      closeReason: CloseReason.CLOSE_REASON_CANCELLED,
    });
  });

  it('When an unpaid order expires, then Query and ORDER_CLOSED say EXPIRED', async () => {
    const o = await order();
    await prepay(o);
    await h.service.deps.db.payOrder.update({ where: { payNo: o.payNo }, data: { expireAt: new Date(Date.now() - 1000) } });
    expect(await expireOrder(h.service.deps, o.tenantId, o.payNo)).toEqual({ kind: 'done', status: 'CLOSED' });
    expect(await query(o)).toMatchObject({ status: OrderStatus.ORDER_STATUS_CLOSED, closeReason: CloseReason.CLOSE_REASON_EXPIRED });
    const event = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_ORDER_CLOSED);
    expect(event.closeReason).toBe(CloseReason.CLOSE_REASON_EXPIRED);
  });

  it('When the channel fails the payment, then Query and PAYMENT_FAILED say PAYMENT_FAILED', async () => {
    const o = await order();
    const pre = await prepay(o);
    const attempt = await h.service.deps.db.payAttempt.findUniqueOrThrow({ where: { attemptNo: pre.attemptNo } });
    const result = await applyTradeStatus(h.service.deps, attempt, { outcome: 'fail', channelStatus: 'PAY_ERROR' }, { cause: 'NOTIFY' });
    expect(result.kind).toBe('applied');
    expect(await query(o)).toMatchObject({ status: OrderStatus.ORDER_STATUS_FAILED, closeReason: CloseReason.CLOSE_REASON_PAYMENT_FAILED });
    const event = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_FAILED);
    expect(event.closeReason).toBe(CloseReason.CLOSE_REASON_PAYMENT_FAILED);
  });

  it('When an order is open or paid without closing, then its close reason is UNSPECIFIED', async () => {
    const o = await order();
    expect((await query(o)).closeReason).toBe(CloseReason.CLOSE_REASON_UNSPECIFIED);
    h.gateway.pay((await prepay(o)).attemptNo);
    const event = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED);
    expect(event.closeReason).toBe(CloseReason.CLOSE_REASON_UNSPECIFIED);
  });
});

describe('events say what happened', () => {
  it('When an order is paid, then PAYMENT_SUCCEEDED carries paid_at, pay way, channel and channel trade no as Query has them', async () => {
    const o = await order();
    const pre = await prepay(o);
    h.gateway.pay(pre.attemptNo);
    const event = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED);
    const paid = await query(o);
    expect(paid.channelTradeNo).not.toBe('');
    expect(event).toMatchObject({
      status: OrderStatus.ORDER_STATUS_SUCCESS,
      payWay: PayWay.PAY_WAY_MOCK,
      channel: 'mock',
      channelTradeNo: paid.channelTradeNo,
      paidAt: paid.paidTime,
      refund: undefined,
    });
    expect(event.paidAt).toBeInstanceOf(Date);
  });

  it('When a refund succeeds or fails, then its event carries the refund itself, as Query returns it', async () => {
    const o = await order();
    h.gateway.pay((await prepay(o)).attemptNo);
    await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED);
    const ok = (await h.call('refund', { order: ref(o), outRefundNo: uniq('RF'), amount: 1200n, reason: 'damaged' })).refund!;
    expect(ok.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
    h.gateway.holdRefunds(true);
    const held = (await h.call('refund', { order: ref(o), outRefundNo: uniq('RF'), amount: 800n, reason: 'late' })).refund!;
    expect(held.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    h.gateway.settleRefund(held.refundNo, 'FAIL');

    const succeeded = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED);
    const failed = await received(o, PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_FAILED);
    const { refunds } = await query(o);
    // As Query returns it, but for its channel records: they are support's reading (Query), not an event's fact.
    const stored = (no: string) => ({ ...refunds.find((r) => r.refundNo === no)!, channelRecords: [] });
    expect(succeeded.refund).toEqual(stored(ok.refundNo));
    expect(succeeded.refund).toMatchObject({
      outRefundNo: ok.outRefundNo,
      amount: 1200n,
      status: RefundStatus.REFUND_STATUS_SUCCESS,
      reason: 'damaged',
      requestedBy: ok.requestedBy,
    });
    expect(succeeded.refund!.channelRefundNo).not.toBe('');
    expect(succeeded.refund!.successTime).toBeInstanceOf(Date);
    expect(failed.refund).toEqual(stored(held.refundNo));
    expect(failed.refund).toMatchObject({ amount: 800n, status: RefundStatus.REFUND_STATUS_FAILED, reason: 'late' });
    expect(failed.refund!.failureReason).not.toBe('');
    // The example consumer keeps each refund's outcome from the event alone.
    expect(consumer.store.refunds.get(held.refundNo)).toMatchObject({
      amount: 800n,
      status: RefundStatus.REFUND_STATUS_FAILED,
      reason: 'late',
    });
    expect(consumer.store.refunds.get(ok.refundNo)).toMatchObject({ amount: 1200n, status: RefundStatus.REFUND_STATUS_SUCCESS });
    // The order's own facts still ride along: the paid order's time, pay way and channel.
    expect(failed).toMatchObject({ payWay: PayWay.PAY_WAY_MOCK, channel: 'mock', refundNo: held.refundNo, refundAmount: 800n });
  });
});
