import { type GetStatisticsRequest, type StatisticsBucket } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { PAID_STATUSES } from '../../src/domain/order-status';
import { localDay } from '../../src/domain/time-zones';
import { foldAllStatsDeltas } from '../../src/repo/stats-fold';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, prepayOn, ref } from '../support/orders';

/*
 * GetStatistics reads a rollup the database's triggers feed (prisma/migrations/20261205100000_stats_deltas: deltas,
 * folded into the rollup rows by the service) and the deltas not folded yet. These
 * tests drive every kind of write that changes what it sums, then hold the rollup tables to the aggregate of the
 * orders and refunds themselves, and the RPC's answer to a sum made here, order by order, in zones cut at :45 and
 * across a DST change.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const db = () => h.service.deps.db;
const refund = (o: PayOrder, amount: bigint) => h.call('refund', { order: ref(o), outRefundNo: uniq('RF'), amount, reason: '' });
/** Moves an order to another creation time (and currency), as if it had been created so: the update trigger's path. */
const reshape = (o: PayOrder, data: { createdAt?: Date; currency?: string }) => db().payOrder.update({ where: { payNo: o.payNo }, data });

/** The rollup rows of these tenants, with the rows the orders and refunds themselves add up to, as sorted lines. */
async function rollupAgainstOrders(tenants: string[]): Promise<{ rollup: string[]; orders: string[] }> {
  const lines = (rows: Record<string, unknown>[]) => rows.map((r) => Object.values(r).map(String).join(' ')).sort();
  const quarter = `TIMESTAMPADD(MINUTE, (HOUR(o.created_at) * 60 + MINUTE(o.created_at)) DIV 15 * 15, DATE(o.created_at))`;
  const paid = PAID_STATUSES.map((s) => `'${s}'`).join(', ');
  const orders = `
    SELECT o.*, (SELECT COUNT(*) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS' AND NOT r.duplicate) AS rc,
           (SELECT COALESCE(SUM(r.amount), 0) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS' AND NOT r.duplicate) AS ra
      FROM pay_order o WHERE o.tenant_id IN (${tenants.map(() => '?').join(', ')})`;
  const q = (sql: string) => db().$queryRawUnsafe<Record<string, unknown>[]>(sql, ...tenants);
  const where = `tenant_id IN (${tenants.map(() => '?').join(', ')}) AND order_count <> 0`;
  // The triggers append deltas; the service's fold (every worker process) moves them into the rollup rows.
  for (const tenant of tenants) await foldAllStatsDeltas(db(), tenant);
  const rollup = [
    ...lines(
      await q(`SELECT 'cell', tenant_id, currency, grain, bucket, status, pay_way, order_count, order_amount, refund_count, refunded_amount,
                               fee_amount, net_amount, refunded_fee
                        FROM order_stats_cell WHERE ${where}`),
    ),
    ...lines(
      await q(`SELECT 'quarter', tenant_id, currency, bucket, order_count, order_amount, paid_count, paid_amount, refund_count, refunded_amount,
                               fee_amount, net_amount, refunded_fee
                        FROM order_stats_quarter WHERE ${where}`),
    ),
  ];
  const fromOrders = [
    ...lines(
      await q(`SELECT 'cell', tenant_id, currency, 'QUARTER', ${quarter} AS b, status, pay_way, COUNT(*), SUM(amount), SUM(rc), SUM(ra),
                             SUM(fee), SUM(net_amount), SUM(refunded_fee)
                        FROM (${orders}) o GROUP BY tenant_id, currency, b, status, pay_way`),
    ),
    ...lines(
      await q(`SELECT 'cell', tenant_id, currency, 'DAY', CAST(DATE(created_at) AS DATETIME) AS b, status, pay_way, COUNT(*), SUM(amount), SUM(rc), SUM(ra),
                             SUM(fee), SUM(net_amount), SUM(refunded_fee)
                        FROM (${orders}) o GROUP BY tenant_id, currency, b, status, pay_way`),
    ),
    ...lines(
      await q(`SELECT 'quarter', tenant_id, currency, ${quarter} AS b, COUNT(*), SUM(amount), SUM(status IN (${paid})),
                             SUM(IF(status IN (${paid}), amount, 0)), SUM(rc), SUM(ra),
                             SUM(fee), SUM(net_amount), SUM(refunded_fee)
                        FROM (${orders}) o GROUP BY tenant_id, currency, b`),
    ),
  ];
  // Both sides' DATETIMEs print the same way (the rollup's bucket is a DATETIME(3) at .000).
  return { rollup: rollup.map((l) => l.replace(/\.000/g, '')).sort(), orders: fromOrders.map((l) => l.replace(/\.000/g, '')).sort() };
}

type Counted = Omit<StatisticsBucket, 'status' | 'payWay' | 'day' | 'successRate'>;
const counted = ({ status: _s, payWay: _w, day: _d, successRate: _r, ...rest }: StatisticsBucket): Counted => rest;

/** GetStatistics' answer summed here from the orders and their refunds, order by order. */
async function expected(tenantId: string, currency: string, from: Date, to: Date, timeZone: string) {
  const orders = await db().payOrder.findMany({ where: { tenantId, currency, createdAt: { gte: from, lt: to } } });
  const refunds = await db().refund.findMany({ where: { payNo: { in: orders.map((o) => o.payNo) }, status: 'SUCCESS' } });
  const groups = new Map<string, Counted>();
  for (const o of orders) {
    const own = refunds.filter((r) => r.payNo === o.payNo);
    const paid = PAID_STATUSES.includes(o.status);
    for (const key of ['total', `status:${o.status}`, `way:${o.payWay}`, `day:${localDay(timeZone, o.createdAt)}`]) {
      const t = groups.get(key) ?? {
        orderCount: 0n,
        orderAmount: 0n,
        paidCount: 0n,
        paidAmount: 0n,
        refundCount: 0n,
        refundedAmount: 0n,
        feeAmount: 0n,
        netAmount: 0n,
        refundedFee: 0n,
      };
      groups.set(key, {
        orderCount: t.orderCount + 1n,
        orderAmount: t.orderAmount + o.amount,
        paidCount: t.paidCount + (paid ? 1n : 0n),
        paidAmount: t.paidAmount + (paid ? o.amount : 0n),
        refundCount: t.refundCount + BigInt(own.length),
        refundedAmount: t.refundedAmount + own.reduce((s, r) => s + r.amount, 0n),
        feeAmount: t.feeAmount + o.fee,
        netAmount: t.netAmount + o.netAmount,
        refundedFee: t.refundedFee + o.refundedFee,
      });
    }
  }
  return groups;
}

async function answered(req: GetStatisticsRequest) {
  const s = await h.call('getStatistics', req);
  const groups = new Map<string, Counted>();
  if (s.total!.orderCount > 0n) groups.set('total', counted(s.total!));
  for (const b of s.byStatus) groups.set(`status:${OrderStatus[b.status].replace('ORDER_STATUS_', '')}`, counted(b));
  for (const b of s.byPayWay)
    groups.set(`way:${b.payWay === PayWay.PAY_WAY_UNSPECIFIED ? '' : PayWay[b.payWay].replace('PAY_WAY_', '')}`, counted(b));
  for (const b of s.byDay) groups.set(`day:${b.day}`, counted(b));
  return groups;
}

describe('the statistics rollup', () => {
  it('When orders are created, paid, switched, refunded (partly, fully, failed), closed and moved, then the rollup equals the orders summed', async () => {
    const [a, b] = [await newTenant(h, 't-ru'), await newTenant(h, 't-ru')];
    // Fees on (issue 14 §3), so the fee sums move with the orders too.
    for (const tenantId of [a, b])
      await h.call('updatePayWay', {
        tenantId,
        payWay: PayWay.PAY_WAY_MOCK,
        expectedVersion: 0n,
        enabled: undefined,
        feeRule: { rateBps: 60, minFee: 3n },
        displayOrder: undefined,
      });
    // Created, then moved around the clock (UTC day edges, quarter edges) and into another currency.
    const open = await createOrder(h, a, { amount: 700n });
    await reshape(open, { createdAt: new Date('2026-06-30T23:59:59.999Z') });
    const qr = await createOrder(h, a, { amount: 900n, payWay: PayWay.PAY_WAY_MOCK_QR });
    await reshape(qr, { createdAt: new Date('2026-07-01T00:14:59.500Z'), currency: 'USD' });
    // Paid, with a pay way switch on the way (MOCK_QR → MOCK).
    const switched = await createOrder(h, a, { amount: 1500n });
    await prepayOn(h, switched, PayWay.PAY_WAY_MOCK_QR);
    await prepayOn(h, switched, PayWay.PAY_WAY_MOCK);
    // Refunded in part, in full, and a refund the channel fails.
    const partly = await paidOrder(h, a, 3000n);
    await refund(partly, 400n);
    await refund(partly, 600n);
    const fully = await paidOrder(h, b, 5000n);
    await refund(fully, 5000n);
    const failing = await paidOrder(h, b, 2000n);
    h.gateway.holdRefunds(true);
    const pending = await refund(failing, 1200n);
    h.gateway.settleRefund(pending.refund!.refundNo, 'FAIL');
    const settled = await h.call('queryRefund', { tenantId: b, outRefundNo: pending.refund!.outRefundNo, sync: true });
    expect(settled.refund!.status).toBe(RefundStatus.REFUND_STATUS_FAILED);
    h.gateway.holdRefunds(false);
    await refund(failing, 300n);
    // A duplicate payment's refund (issue 14 §1) returns a second payment the statistics never counted: it is
    // left out of the refund sums, pending, settled, and deleted alike.
    const dup = {
      tenantId: b,
      payNo: fully.payNo,
      attemptNo: 'A-DUP-STATS',
      duplicate: true,
      currency: 'CNY',
      reason: 'dup',
      requestedBy: 'test',
    };
    await db().refund.create({
      data: { ...dup, refundNo: uniq('RDUP').slice(0, 32), outRefundNo: uniq('DUP-'), amount: 5000n, status: 'PENDING' },
    });
    await db().refund.updateMany({ where: { payNo: fully.payNo, duplicate: true }, data: { status: 'SUCCESS' } });
    const gone = { ...dup, refundNo: uniq('RDUP').slice(0, 32), outRefundNo: uniq('DUP-'), amount: 100n, status: 'SUCCESS' as const };
    await db().refund.create({ data: gone });
    await db().refund.delete({ where: { refundNo: gone.refundNo } });
    // Cancelled, and a refunded order moved to another day afterwards (its refunds move with it).
    await h.call('cancel', { order: ref(await createOrder(h, b, { amount: 1100n })), reason: '' });
    await reshape(partly, { createdAt: new Date('2026-07-02T18:15:00Z') });

    const { rollup, orders } = await rollupAgainstOrders([a, b]);
    expect(rollup).toEqual(orders);
    // The mix is what it means to be: both tenants, two currencies, refunds that count and one that does not.
    expect(orders.filter((l) => l.startsWith('quarter')).length).toBeGreaterThanOrEqual(4);
    expect(orders.some((l) => l.includes(' USD '))).toBe(true);
    const failed = await db().refund.count({ where: { payNo: failing.payNo, status: 'FAILED' } });
    expect(failed).toBe(1);
  });

  it('When a range starts and ends mid-quarter in a +05:45 zone and across a DST change, then GetStatistics equals the orders summed', async () => {
    const tenant = await newTenant(h, 't-ru');
    const place = async (iso: string, amount: bigint, paid = false) => {
      const o = paid ? await paidOrder(h, tenant, amount) : await createOrder(h, tenant, { amount });
      await reshape(o, { createdAt: new Date(iso) });
      return o;
    };
    // Kathmandu (+05:45): local midnight is 18:15 UTC.
    await place('2026-03-01T18:14:59.999Z', 100n); // 03-01 23:59:59.999 local
    const midnight = await place('2026-03-01T18:15:00Z', 200n, true); // 03-02 00:00 local
    await refund(midnight, 50n);
    await place('2026-03-02T06:07:00Z', 400n); // inside the range's first, partial quarter? no: a whole one
    // New York: EST until 2026-03-08 07:00Z, EDT after; local midnight at 05:00Z, then 04:00Z.
    await place('2026-03-08T04:59:59Z', 800n, true); // 03-07 23:59:59 EST
    await place('2026-03-09T04:00:00Z', 1600n); // 03-09 00:00 EDT
    await place('2026-03-09T03:59:00Z', 3200n); // 03-08 23:59 EDT
    await place('2026-03-20T11:07:30Z', 6400n); // after the end below, in its last partial quarter
    await place('2026-03-20T11:05:00Z', 12800n); // in the last partial quarter, inside the range

    for (const timeZone of ['Asia/Kathmandu', 'America/New_York', 'UTC', 'Asia/Shanghai']) {
      // Mid-quarter edges: the first and last minutes come from the orders, the rest from the rollup.
      for (const [from, to] of [
        ['2026-02-28T18:14:59.999Z', '2026-03-20T11:07:00Z'],
        ['2026-03-01T18:15:00Z', '2026-03-09T04:00:00.001Z'],
        ['2026-03-01T18:20:00Z', '2026-03-01T18:25:00Z'],
      ]) {
        const [f, t] = [new Date(from), new Date(to)];
        const req = { tenantId: tenant, createdFrom: f, createdTo: t, currency: 'CNY', timeZone };
        expect({ timeZone, from, to, groups: [...(await answered(req))].sort() }).toEqual({
          timeZone,
          from,
          to,
          groups: [...(await expected(tenant, 'CNY', f, t, timeZone))].sort(),
        });
      }
    }
  });
});
