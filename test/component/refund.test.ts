import { status } from '@grpc/grpc-js';
import { OrderStatus, RefundStatus } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-refund');
});
afterAll(() => h.close());
afterEach(() => {
  h.gateway.clearFaults();
  h.gateway.holdRefunds(false);
});

let TENANT: string;
const refund = (o: Parameters<typeof ref>[0], amount: bigint, outRefundNo = uniq('RF'), reason = 'returned') =>
  h.call('refund', { order: ref(o), outRefundNo, amount, reason });

describe('Refund', () => {
  it('When a paid order is refunded in two parts, then it goes PARTIAL_REFUNDED then REFUNDED with an event each', async () => {
    const order = await paidOrder(h, TENANT, 10000n);
    const r1 = await refund(order, 3000n);
    expect(r1.refund).toMatchObject({ amount: 3000n, status: RefundStatus.REFUND_STATUS_SUCCESS });
    expect(r1.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, refundedAmount: 3000n, refundPendingAmount: 0n });
    const r2 = await refund(order, 7000n);
    expect(r2.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_REFUNDED, refundedAmount: 10000n });
    const events = await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo }, orderBy: { orderVersion: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED', 'REFUND_SUCCEEDED']);
    const versions = events.map((e) => e.orderVersion);
    expect([...versions].sort((a, b) => (a < b ? -1 : 1))).toEqual(versions);
    expect(new Set(versions).size).toBe(3);
  });

  it('When a refund is replayed, then the same refund returns; with another amount it is ALREADY_EXISTS', async () => {
    const order = await paidOrder(h, TENANT);
    const no = uniq('RF');
    const first = await refund(order, 100n, no);
    const again = await refund(order, 100n, no);
    expect(again.replayed).toBe(true);
    expect(again.refund!.refundNo).toBe(first.refund!.refundNo);
    const err = await grpcError(refund(order, 200n, no), status.ALREADY_EXISTS);
    expect(err.details).toContain('amount');
    expect(await h.service.deps.db.refund.count({ where: { payNo: order.payNo } })).toBe(1);
  });

  it('When two identical full refunds race, then both get the same refund, never a refusal', async () => {
    const order = await paidOrder(h, TENANT, 4200n);
    const no = uniq('RF');
    const [a, b] = await Promise.all([refund(order, 4200n, no), refund(order, 4200n, no)]);
    expect(a.refund!.refundNo).toBe(b.refund!.refundNo);
    expect(await h.service.deps.db.refund.count({ where: { payNo: order.payNo } })).toBe(1);
  });

  it('When the channel did not answer a refund, then it stays PENDING and a replay sends it again until it settles', async () => {
    const order = await paidOrder(h, TENANT, 3000n);
    const no = uniq('RF');
    h.gateway.inject({ kind: 'serverError' }, 1);
    const first = await refund(order, 3000n, no);
    expect(first.refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    expect(first.order!.refundPendingAmount).toBe(3000n);
    const again = await refund(order, 3000n, no);
    expect(again).toMatchObject({
      replayed: true,
      refund: { refundNo: first.refund!.refundNo, status: RefundStatus.REFUND_STATUS_SUCCESS },
    });
    expect(again.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_REFUNDED, refundPendingAmount: 0n, refundedAmount: 3000n });
  });

  it('When 20 partial refunds race and together exceed the paid amount, then the accepted ones sum to at most it', async () => {
    const order = await paidOrder(h, TENANT, 10000n);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => refund(order, 700n)));
    // 14 × 700 = 9800 ≤ 10000 < 15 × 700. As one list, so a failure shows what the others got instead.
    const outcomes = results.map((r) => (r.status === 'fulfilled' ? 'OK' : `${status[r.reason.code as number]}: ${r.reason.details}`));
    expect(outcomes.filter((o) => o !== 'OK')).toEqual(Array(6).fill(expect.stringMatching(/^FAILED_PRECONDITION: /)));
    const db = h.service.deps.db;
    const row = await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row.refundedAmount).toBe(9800n);
    expect(row.refundPendingAmount).toBe(0n);
    expect(row.status).toBe('PARTIAL_REFUNDED');
    const sum = (await db.refund.findMany({ where: { payNo: order.payNo, status: 'SUCCESS' } })).reduce((s, r) => s + r.amount, 0n);
    expect(sum).toBe(9800n);
    // The channel agrees: what it refunded is what we recorded.
    const attempt = await db.payAttempt.findFirstOrThrow({ where: { payNo: order.payNo, status: 'SUCCESS' } });
    expect(h.gateway.refundedTotal(attempt.attemptNo)).toBe(9800n);
  });

  it('When a refund is pending at the channel, then its amount stays reserved until QueryRefund sync settles it', async () => {
    const order = await paidOrder(h, TENANT, 5000n);
    h.gateway.holdRefunds(true);
    const no = uniq('RF');
    const pending = await refund(order, 4000n, no);
    expect(pending.refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    expect(pending.order!.refundPendingAmount).toBe(4000n);
    await grpcError(refund(order, 1001n), status.FAILED_PRECONDITION); // only 1000 left
    h.gateway.settleRefund(pending.refund!.refundNo, 'FAIL'); // the channel knows our refund_no, not the caller's
    const settled = await h.call('queryRefund', { tenantId: TENANT, outRefundNo: no, sync: true });
    expect(settled.refund!.status).toBe(RefundStatus.REFUND_STATUS_FAILED);
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row).toMatchObject({ refundPendingAmount: 0n, refundedAmount: 0n, status: 'SUCCESS' });
    h.gateway.holdRefunds(false);
    expect((await refund(order, 5000n)).order!.status).toBe(OrderStatus.ORDER_STATUS_REFUNDED);
  });

  it('When the order is unpaid or the input is bad, then the refund is refused and nothing is written', async () => {
    const unpaid = await createOrder(h, TENANT);
    await grpcError(refund(unpaid, 1n), status.FAILED_PRECONDITION);
    const paid = await paidOrder(h, TENANT, 100n);
    await grpcError(refund(paid, 101n), status.FAILED_PRECONDITION);
    const e = await grpcError(refund(paid, 0n), status.INVALID_ARGUMENT);
    expect(e.metadata.get('field')).toEqual(['amount']);
    const e2 = await grpcError(refund(paid, 1n, 'bad refund no!'), status.INVALID_ARGUMENT);
    expect(e2.metadata.get('field')).toEqual(['out_refund_no']);
    expect(await h.service.deps.db.refund.count({ where: { payNo: { in: [unpaid.payNo, paid.payNo] } } })).toBe(0);
    await grpcError(h.call('queryRefund', { tenantId: TENANT, outRefundNo: uniq('none'), sync: false }), status.NOT_FOUND);
  });
});
