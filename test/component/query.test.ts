import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, RefundStatus } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-query');
});
afterAll(() => h.close());
afterEach(() => h.gateway.clearFaults());

let TENANT: string;

describe('Query', () => {
  it('When queried by pay_no or by out_order_no, then the same order comes back with its attempts and refunds', async () => {
    const order = await paidOrder(h, TENANT, 3000n);
    await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 1000n, reason: '' });
    const byPayNo = await h.call('query', { order: ref(order), sync: false });
    const byOut = await h.call('query', {
      order: { tenantId: TENANT, key: { $case: 'outOrderNo', value: order.outOrderNo } },
      sync: false,
    });
    expect(byOut).toEqual(byPayNo);
    expect(byPayNo.order!.attempts).toHaveLength(1);
    expect(byPayNo.order!.refunds.map((r) => [r.amount, r.status])).toEqual([[1000n, RefundStatus.REFUND_STATUS_SUCCESS]]);
  });

  it('When another tenant asks for the order, then NOT_FOUND', async () => {
    const order = await createOrder(h, TENANT);
    await grpcError(h.call('query', { order: { ...ref(order), tenantId: await newTenant(h, 't-other') }, sync: false }), status.NOT_FOUND);
  });

  it('When the notify was lost, then Query with sync finds the payment and applies it as a SYNC transition', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'dropNotify' }, 10);
    h.gateway.pay(pre.attemptNo);
    expect((await h.call('query', { order: ref(order), sync: false })).order!.status).toBe(OrderStatus.ORDER_STATUS_PAYING);
    const synced = await h.call('query', { order: ref(order), sync: true });
    expect(synced.order!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    const trail = await h.service.deps.db.orderTransition.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => [t.toStatus, t.cause])).toEqual([
      ['PAYING', 'RPC'],
      ['SUCCESS', 'SYNC'],
    ]);
  });

  it('When sync cannot reach the channel, then UNAVAILABLE; without sync the local status still answers', async () => {
    const order = await createOrder(h, TENANT);
    await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'serverError' }, 5);
    await grpcError(h.call('query', { order: ref(order), sync: true }), status.UNAVAILABLE);
    expect((await h.call('query', { order: ref(order), sync: false })).order!.status).toBe(OrderStatus.ORDER_STATUS_PAYING);
  });
});

describe('ListPayWays', () => {
  it('When a tenant lists pay ways, then every way is there, enabled only where a handler exists and the tenant allows', async () => {
    const tenant = await newTenant(h, 't-ways');
    await h.service.deps.db.payWayConfig.create({ data: { tenantId: tenant, payWay: 'MOCK_QR', enabled: false, feeRateBps: 25 } });
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    const byWay = new Map(payWays.map((w) => [w.payWay, w]));
    expect(byWay.size).toBe(10);
    expect(byWay.get(PayWay.PAY_WAY_MOCK)).toMatchObject({ enabled: true, supportsRefund: true, feeRateBps: 0 });
    expect(byWay.get(PayWay.PAY_WAY_MOCK_QR)).toMatchObject({ enabled: false, supportsQr: true, feeRateBps: 25 });
    expect(byWay.get(PayWay.PAY_WAY_ALIPAY_APP)).toMatchObject({ enabled: false, name: 'Alipay App', feeRateBps: 60 });

    const order = await createOrder(h, tenant);
    const err = await grpcError(
      h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK_QR, clientIp: '', payerId: '' }),
      status.FAILED_PRECONDITION,
    );
    expect(err.details).toContain('not enabled');
  });

  it('When the tenant id is invalid, then INVALID_ARGUMENT', async () => {
    const err = await grpcError(h.call('listPayWays', { tenantId: 'bad tenant' }), status.INVALID_ARGUMENT);
    expect(err.metadata.get('field')).toEqual(['tenant_id']);
  });
});
