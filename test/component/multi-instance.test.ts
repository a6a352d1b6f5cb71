import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { orderRequest, ref } from '../support/orders';

let a: Harness;
let b: Harness;
beforeAll(async () => {
  a = await startHarness();
  b = await startHarness({}, { gateway: a.gateway, gatewayUrl: a.gatewayUrl });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

describe('two instances on one MySQL and Redis', () => {
  it('When both receive the same CreateOrder and refunds at once, then there is one order and no over-refund', async () => {
    const req = orderRequest(await newTenant(a, 't-multi'), { amount: 1000n });
    const created = await Promise.all([...Array(5)].flatMap(() => [a.call('createOrder', req), b.call('createOrder', req)]));
    expect(new Set(created.map((c) => c.order!.payNo)).size).toBe(1);
    const order = created[0].order!;

    // Prepay on A, pay at the sandbox; the notify reaches A's sidecar; B sees the result.
    const pre = await a.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    a.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await b.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );

    const refunds = await Promise.allSettled(
      [...Array(6)].flatMap(() => [
        a.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 300n, reason: '' }),
        b.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 300n, reason: '' }),
      ]),
    );
    expect(refunds.filter((r) => r.status === 'fulfilled')).toHaveLength(3); // 3 × 300 ≤ 1000 < 4 × 300
    const row = await a.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row).toMatchObject({ refundedAmount: 900n, refundPendingAmount: 0n, status: 'PARTIAL_REFUNDED' });
    expect(a.gateway.refundedTotal(pre.attemptNo)).toBe(900n);
  });
});
