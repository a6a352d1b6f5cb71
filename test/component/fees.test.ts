import { startOrderConsumer } from '../../examples/order-consumer';
import { PaymentEventType, type PaymentEvent } from '../../src/gen/payment/v1/events';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/*
 * Issue 14 §3: fees and net amounts through the real service, the mock sandbox and the order side's topic queue.
 * The fee rule is set the operators' way (UpdatePayWay); the buyer pays at the sandbox; refunds return the fee in
 * proportion (src/domain/fees.ts).
 */
let h: Harness;
let consumer: ReturnType<typeof startOrderConsumer>;
let topic: string;
const seen: PaymentEvent[] = [];
const prefix = `{${uniq('fee')}}`;

beforeAll(async () => {
  h = await startHarness({ EVENT_QUEUE_PREFIX: prefix });
  topic = uniq('orders.fees.');
  consumer = startOrderConsumer({ connection: h.service.deps.queueRedis, prefix, topic, onEvent: (e) => seen.push(e) });
}, 60_000);
afterAll(async () => {
  await consumer?.worker.close();
  await h?.close();
});

const received = (o: PayOrder, type: PaymentEventType, n = 1) =>
  eventually(async () => {
    const events = seen.filter((e) => e.payNo === o.payNo && e.type === type);
    return events.length >= n && events;
  }, 15_000);

const setFee = async (tenantId: string, rateBps: number, minFee: bigint, expectedVersion = 0n) =>
  h.call('updatePayWay', {
    tenantId,
    payWay: PayWay.PAY_WAY_MOCK,
    expectedVersion,
    enabled: undefined,
    feeRule: { rateBps, minFee },
    displayOrder: undefined,
  });

async function paid(tenantId: string, amount: bigint): Promise<PayOrder> {
  const order = await createOrder(h, tenantId, { amount, notifyTopic: topic });
  const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
  h.gateway.pay(pre.attemptNo);
  return eventually(async () => {
    const { order: o } = await h.call('query', { order: ref(order), sync: false });
    return o?.status === OrderStatus.ORDER_STATUS_SUCCESS && o;
  });
}

describe('Fees', () => {
  it('When a payment succeeds under a 0.6 % rule, then the fee and net are on the order, its attempt, and PAYMENT_SUCCEEDED', async () => {
    const tenant = await newTenant(h, 'fee');
    await setFee(tenant, 60, 0n);
    const order = await paid(tenant, 10150n); // 60.9 fen: half up to 61
    expect(order).toMatchObject({ fee: 61n, netAmount: 10089n, refundedFee: 0n });
    const { order: full } = await h.call('query', { order: ref(order), sync: false });
    expect(full!.attempts.map((a) => [a.fee, a.netAmount])).toEqual([[61n, 10089n]]);
    const [event] = await received(order, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED);
    expect(event).toMatchObject({ amount: 10150n, fee: 61n, netAmount: 10089n, refundedFee: 0n });
  });

  it('When the rule has a minimum, then a small payment pays the minimum; with none set, the catalog default (0 for the mock) applies', async () => {
    const tenant = await newTenant(h, 'feemin');
    expect(await paid(tenant, 500n)).toMatchObject({ fee: 0n, netAmount: 500n });
    await setFee(tenant, 60, 10n);
    expect(await paid(tenant, 500n)).toMatchObject({ fee: 10n, netAmount: 490n });
  });

  it('When an order is refunded in three parts, then each refund returns its floor share, the last the rest, the events carry them and GetStatistics sums them', async () => {
    const tenant = await newTenant(h, 'feeref');
    await setFee(tenant, 60, 0n);
    const order = await paid(tenant, 10000n);
    expect(order.fee).toBe(60n);
    const fees: bigint[] = [];
    for (const amount of [3333n, 3333n, 3334n]) {
      const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount, reason: '' });
      expect(refund!.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
      fees.push(refund!.fee);
    }
    expect(fees).toEqual([19n, 20n, 21n]);
    const { order: after } = await h.call('query', { order: ref(order), sync: false });
    expect(after).toMatchObject({ status: OrderStatus.ORDER_STATUS_REFUNDED, fee: 60n, refundedFee: 60n });
    expect(after!.refunds.map((r) => r.fee)).toEqual([19n, 20n, 21n]);
    const events = await received(order, PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED, 3);
    expect(events.map((e) => [e.refund?.fee, e.refundedFee]).sort((a, b) => Number(a[1]! - b[1]!))).toEqual([
      [19n, 19n],
      [20n, 39n],
      [21n, 60n],
    ]);
    const stats = await h.call('getStatistics', {
      tenantId: tenant,
      createdFrom: new Date(Date.now() - 3600_000),
      createdTo: new Date(Date.now() + 3600_000),
      currency: '',
      timeZone: '',
    });
    expect(stats.total).toMatchObject({ paidAmount: 10000n, feeAmount: 60n, netAmount: 9940n, refundedFee: 60n, refundedAmount: 10000n });
    expect(stats.byPayWay.map((b) => [b.payWay, b.feeAmount, b.netAmount])).toEqual([[PayWay.PAY_WAY_MOCK, 60n, 9940n]]);
  });

  it('When the rule changes after Prepay, then the payment is charged the rule in force when it succeeds', async () => {
    const tenant = await newTenant(h, 'feechg');
    const order = await createOrder(h, tenant, { amount: 20000n, notifyTopic: topic });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    await setFee(tenant, 100, 0n);
    h.gateway.pay(pre.attemptNo);
    const o = await eventually(async () => {
      const { order: q } = await h.call('query', { order: ref(order), sync: false });
      return q?.status === OrderStatus.ORDER_STATUS_SUCCESS && q;
    });
    expect(o).toMatchObject({ fee: 200n, netAmount: 19800n });
  });
});
