import { isPayWayCode, knownPayWays } from '../channels/catalog';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order-status';
import { offsetSpans } from '../domain/time-zones';
import { statisticsCells, type Tally } from '../repo/order-queries';
import type { Deps } from './deps';
import { requireTenant } from './tenants';

export type { Tally };

export interface StatisticsQuery {
  tenantId: string;
  from: Date;
  to: Date;
  currency: string;
  /** A valid IANA zone; days are cut at its local midnight. */
  timeZone: string;
}

export interface Statistics {
  currency: string;
  timeZone: string;
  total: Tally;
  /** Only groups with orders, in the order of ORDER_STATUSES, the pay-way catalog ('' first: no pay way chosen yet) and time. */
  byStatus: [OrderStatus, Tally][];
  byPayWay: [string, Tally][];
  byDay: [string, Tally][];
}

/**
 * What a tenant's orders created in [from, to) add up to, in total and by status, pay way and local day. The
 * database sums per (status, pay way) cell and per local day, with days cut by the zone's UTC offset spans
 * (src/domain/time-zones.ts), mostly from the rollup the triggers keep; the few cells are added up here.
 */
export async function getStatistics(deps: Deps, q: StatisticsQuery): Promise<Statistics> {
  await requireTenant(deps, q.tenantId);
  const { cells, days } = await statisticsCells(deps.db, { ...q, spans: offsetSpans(q.timeZone, q.from, q.to) });
  return {
    currency: q.currency,
    timeZone: q.timeZone,
    total: cells.reduce(add, zero()),
    byStatus: groupBy(cells, (c) => c.status, ORDER_STATUSES),
    byPayWay: groupBy(cells, (c) => (isPayWayCode(c.payWay) ? c.payWay : ''), ['', ...knownPayWays.codes()]),
    byDay: groupBy(days, (c) => c.day).sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

const zero = (): Tally => ({
  orderCount: 0n,
  orderAmount: 0n,
  paidCount: 0n,
  paidAmount: 0n,
  refundCount: 0n,
  refundedAmount: 0n,
  feeAmount: 0n,
  netAmount: 0n,
  refundedFee: 0n,
});

function add(t: Tally, c: Tally): Tally {
  return {
    orderCount: t.orderCount + c.orderCount,
    orderAmount: t.orderAmount + c.orderAmount,
    paidCount: t.paidCount + c.paidCount,
    paidAmount: t.paidAmount + c.paidAmount,
    refundCount: t.refundCount + c.refundCount,
    refundedAmount: t.refundedAmount + c.refundedAmount,
    feeAmount: t.feeAmount + c.feeAmount,
    netAmount: t.netAmount + c.netAmount,
    refundedFee: t.refundedFee + c.refundedFee,
  };
}

function groupBy<C extends Tally, K extends string>(cells: C[], key: (c: C) => K, order?: readonly K[]): [K, Tally][] {
  const groups = new Map<K, Tally>();
  for (const c of cells) groups.set(key(c), add(groups.get(key(c)) ?? zero(), c));
  const entries = [...groups];
  return order ? entries.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)) : entries;
}
