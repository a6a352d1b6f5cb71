import { status } from '@grpc/grpc-js';
import { ListOrdersRequest, type GetStatisticsRequest, type StatisticsBucket } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const DAY_MS = 86400_000;
const stats = (tenantId: string, over: Partial<GetStatisticsRequest> = {}) =>
  h.call('getStatistics', {
    tenantId,
    createdFrom: new Date(Date.now() - DAY_MS),
    createdTo: new Date(Date.now() + DAY_MS),
    currency: '',
    timeZone: '',
    ...over,
  });

const PAID = [
  OrderStatus.ORDER_STATUS_SUCCESS,
  OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED,
  OrderStatus.ORDER_STATUS_REFUNDED,
  OrderStatus.ORDER_STATUS_PAID_AFTER_CLOSE,
];

type Counted = Omit<StatisticsBucket, 'status' | 'payWay' | 'day' | 'successRate'>;

/** The expected bucket of some orders, added up here one by one from the orders and their refunds. */
async function summed(orders: PayOrder[]): Promise<Counted> {
  const refunds = await h.service.deps.db.refund.findMany({ where: { payNo: { in: orders.map((o) => o.payNo) }, status: 'SUCCESS' } });
  const paid = orders.filter((o) => PAID.includes(o.status));
  return {
    orderCount: BigInt(orders.length),
    orderAmount: orders.reduce((s, o) => s + o.amount, 0n),
    paidCount: BigInt(paid.length),
    paidAmount: paid.reduce((s, o) => s + o.amount, 0n),
    refundCount: BigInt(refunds.length),
    refundedAmount: refunds.reduce((s, r) => s + r.amount, 0n),
    feeAmount: orders.reduce((s, o) => s + o.fee, 0n),
    netAmount: orders.reduce((s, o) => s + o.netAmount, 0n),
    refundedFee: orders.reduce((s, o) => s + o.refundedFee, 0n),
  };
}

/** The tenant's orders as they are now, read through ListOrders. */
async function allOrders(tenantId: string): Promise<PayOrder[]> {
  const r = await h.call('listOrders', ListOrdersRequest.fromPartial({ tenantId, pageSize: 200 }));
  expect(r.nextPageToken).toBe('');
  return r.orders;
}

const counted = ({ status: _s, payWay: _w, day: _d, successRate: _r, ...rest }: StatisticsBucket): Counted => rest;

/** Moves an order to a chosen creation time, as if it had been created then. */
const createdAt = (o: PayOrder, iso: string) =>
  h.service.deps.db.payOrder.update({ where: { payNo: o.payNo }, data: { createdAt: new Date(iso) } });

describe('GetStatistics', () => {
  it('When orders are unpaid, paid, cancelled and refunded, then every bucket adds up to exactly those orders', async () => {
    const tenant = await newTenant(h, 't-st');
    await createOrder(h, tenant, { amount: 1100n });
    await createOrder(h, tenant, { amount: 1300n, payWay: PayWay.PAY_WAY_MOCK_QR });
    await h.call('cancel', { order: ref(await createOrder(h, tenant, { amount: 1700n })), reason: '' });
    await paidOrder(h, tenant, 2000n);
    const partly = await paidOrder(h, tenant, 3000n);
    const fully = await paidOrder(h, tenant, 5000n);
    const refund = (o: PayOrder, amount: bigint) => h.call('refund', { order: ref(o), outRefundNo: uniq('RF'), amount, reason: '' });
    await refund(partly, 400n);
    await refund(partly, 600n);
    await refund(fully, 5000n);

    const orders = await allOrders(tenant);
    const s = await stats(tenant);

    expect(s).toMatchObject({ currency: 'CNY', timeZone: 'Asia/Shanghai' });
    expect(counted(s.total!)).toEqual(await summed(orders));
    expect(s.total).toMatchObject({ orderCount: 6n, paidCount: 3n, refundCount: 3n, refundedAmount: 6000n }); // the mix is what we meant
    expect(s.total!.successRate).toBeCloseTo(3 / 6);

    const statuses = [...new Set(orders.map((o) => o.status))].sort((a, b) => a - b);
    expect(s.byStatus.map((b) => b.status)).toEqual(statuses);
    for (const b of s.byStatus) {
      const group = orders.filter((o) => o.status === b.status);
      expect(counted(b)).toEqual(await summed(group));
      expect(b.successRate).toBeCloseTo(PAID.includes(b.status) ? 1 : 0);
    }

    const ways = [...new Set(orders.map((o) => o.payWay))].sort((a, b) => a - b);
    expect(ways).toEqual([PayWay.PAY_WAY_UNSPECIFIED, PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR]);
    expect(s.byPayWay.map((b) => b.payWay)).toEqual(ways);
    for (const b of s.byPayWay) {
      const group = orders.filter((o) => o.payWay === b.payWay);
      expect(counted(b)).toEqual(await summed(group));
      expect(b.successRate).toBeCloseTo(Number(b.paidCount) / group.length);
    }

    const days = s.byDay.map((b) => b.day);
    expect(days.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))).toBe(true);
    expect(s.byDay.reduce((n, b) => n + b.orderCount, 0n)).toBe(6n);
  });

  it('When an order is created near midnight, then its day is cut in the requested time zone, across DST changes too', async () => {
    const tenant = await newTenant(h, 't-st');
    const place = async (iso: string, amount: bigint) => createdAt(await createOrder(h, tenant, { amount }), iso);
    await place('2026-03-01T15:30:00Z', 100n); // Shanghai 03-01 23:30, UTC 03-01
    await place('2026-03-01T16:30:00Z', 200n); // Shanghai 03-02 00:30, UTC 03-01
    await place('2026-03-10T04:30:00Z', 400n); // New York 03-10 00:30 (EDT since 03-08), 03-09 23:30 had it stayed EST
    const range = { createdFrom: new Date('2026-03-01T00:00:00Z'), createdTo: new Date('2026-03-15T00:00:00Z') };
    const byDay = async (timeZone: string) =>
      (await stats(tenant, { ...range, timeZone })).byDay.map((b) => [b.day, b.orderCount, b.orderAmount]);

    expect(await byDay('')).toEqual([
      ['2026-03-01', 1n, 100n],
      ['2026-03-02', 1n, 200n],
      ['2026-03-10', 1n, 400n],
    ]);
    expect(await byDay('UTC')).toEqual([
      ['2026-03-01', 2n, 300n],
      ['2026-03-10', 1n, 400n],
    ]);
    expect(await byDay('America/New_York')).toEqual([
      ['2026-03-01', 2n, 300n],
      ['2026-03-10', 1n, 400n],
    ]);
    // The range bounds are instants: created_from inclusive, created_to exclusive.
    const edge = await stats(tenant, { createdFrom: new Date('2026-03-01T16:30:00Z'), createdTo: new Date('2026-03-10T04:30:00Z') });
    expect(edge.total).toMatchObject({ orderCount: 1n, orderAmount: 200n });
  });

  it('When no order falls in the range, then the total is zero with a success rate of 0 and no groups', async () => {
    const tenant = await newTenant(h, 't-st');
    await createOrder(h, tenant);
    const s = await stats(tenant, { createdFrom: new Date('2025-01-01T00:00:00Z'), createdTo: new Date('2025-02-01T00:00:00Z') });
    expect(s.total).toMatchObject({ orderCount: 0n, orderAmount: 0n, paidCount: 0n, refundCount: 0n, successRate: 0 });
    expect([s.byStatus, s.byPayWay, s.byDay]).toEqual([[], [], []]);
  });

  it('When the range, currency, time zone or tenant is bad, then INVALID_ARGUMENT names the field', async () => {
    const tenant = await newTenant(h, 't-st');
    const field = async (over: Partial<GetStatisticsRequest>) =>
      (await grpcError(stats(tenant, over), status.INVALID_ARGUMENT)).metadata.get('field');
    const from = new Date('2026-01-01T00:00:00Z');

    expect(await field({ createdFrom: undefined })).toEqual(['created_from']);
    expect(await field({ createdTo: undefined })).toEqual(['created_to']);
    expect(await field({ createdFrom: from, createdTo: from })).toEqual(['created_to']);
    expect(await field({ createdFrom: from, createdTo: new Date(from.getTime() + 366 * DAY_MS + 1) })).toEqual(['created_to']);
    expect(await field({ currency: 'USD' })).toEqual(['currency']);
    expect(await field({ timeZone: 'Mars/Olympus' })).toEqual(['time_zone']);
    expect(await field({ tenantId: '' })).toEqual(['tenant_id']);
    // 366 days is allowed; a zone is accepted in any case and answered in its canonical spelling.
    const s = await stats(tenant, { createdFrom: from, createdTo: new Date(from.getTime() + 366 * DAY_MS), timeZone: 'europe/berlin' });
    expect(s.timeZone).toBe('Europe/Berlin');
  });
});
