import type { Db } from '../infra/db';
import { Prisma } from '../generated/prisma/client';
import { ORDER_STATUSES, PAID_STATUSES, type OrderStatus } from '../domain/order-status';
import type { OffsetSpan } from '../domain/time-zones';
import type { PayOrder } from './pay-orders';

/** Which of a tenant's orders to list; an empty list or an absent value does not filter. */
export interface OrderFilter {
  tenantId: string;
  userId?: string;
  statuses: OrderStatus[];
  payWays: string[];
  createdFrom?: Date;
  createdTo?: Date;
}

/** The last order of a page: the next page starts strictly after it in (created_at DESC, id DESC). */
export interface OrderCursor {
  createdAt: Date;
  id: bigint;
}

/**
 * Up to `limit` orders, newest first, after `cursor`. Keyset, not offset: orders inserted meanwhile sort before
 * the cursor (or after it, if backdated) and never shift what follows it, and page 50 costs what page 1 does.
 * Every filter is an index range read newest first and stopped after `limit` rows (orderIdsAfter), then the rows
 * are read by primary key.
 */
export async function listOrdersAfter(db: Db, f: OrderFilter, cursor: OrderCursor | undefined, limit: number): Promise<PayOrder[]> {
  const ids = await orderIdsAfter(db, f, cursor, limit);
  if (ids.length === 0) return [];
  const rows = await db.payOrder.findMany({ where: { id: { in: ids } } });
  const byId = new Map(rows.map((o) => [o.id, o]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

/** A status list that covers every status: a pay way filter alone is read one (pay way, status) range at a time. */
const EVERY_STATUS: readonly OrderStatus[] = ORDER_STATUSES;

/**
 * The ids of the page. A caller's user id narrows to idx_pay_order_tenant_user_created_at (a user's orders are few;
 * other filters apply on top). Otherwise each listed status, or (pay way, status) pair, is its own range of
 * idx_pay_order_tenant_status_created_at or idx_pay_order_tenant_pay_way_status_created_at, already in
 * (created_at, id) order: MariaDB reads at most `limit` rows from each and merges them (UNION ALL, then a sort of
 * those few). An IN list over one index would instead read every row of the listed statuses and sort them all.
 */
async function orderIdsAfter(db: Db, f: OrderFilter, cursor: OrderCursor | undefined, limit: number): Promise<bigint[]> {
  const common = [
    Prisma.sql`tenant_id = ${f.tenantId}`,
    ...(f.createdFrom ? [Prisma.sql`created_at >= ${f.createdFrom}`] : []),
    ...(f.createdTo ? [Prisma.sql`created_at < ${f.createdTo}`] : []),
    // The first term is the index range; the second only sorts out rows of the cursor's own millisecond.
    ...(cursor ? [Prisma.sql`created_at <= ${cursor.createdAt} AND (created_at < ${cursor.createdAt} OR id < ${cursor.id})`] : []),
  ];
  const branch = (index: string, more: Prisma.Sql[]) => Prisma.sql`
    SELECT id, created_at FROM pay_order FORCE INDEX (${Prisma.raw(index)})
     WHERE ${Prisma.join([...common, ...more], ' AND ')}
     ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
  const inList = (column: string, values: readonly string[]) =>
    values.length > 0 ? [Prisma.sql`${Prisma.raw(column)} IN (${Prisma.join(values)})`] : [];

  let branches: Prisma.Sql[];
  if (f.userId) {
    branches = [
      branch('idx_pay_order_tenant_user_created_at', [
        Prisma.sql`user_id = ${f.userId}`,
        ...inList('status', f.statuses),
        ...inList('pay_way', f.payWays),
      ]),
    ];
  } else if (f.payWays.length > 0) {
    const statuses = f.statuses.length > 0 ? f.statuses : EVERY_STATUS;
    branches = f.payWays.flatMap((way) =>
      statuses.map((status) =>
        branch('idx_pay_order_tenant_pay_way_status_created_at', [Prisma.sql`pay_way = ${way}`, Prisma.sql`status = ${status}`]),
      ),
    );
  } else if (f.statuses.length > 0) {
    branches = f.statuses.map((status) => branch('idx_pay_order_tenant_status_created_at', [Prisma.sql`status = ${status}`]));
  } else {
    branches = [branch('idx_pay_order_tenant_created_at', [])];
  }
  const rows =
    branches.length === 1
      ? await db.$queryRaw<{ id: bigint }[]>(branches[0])
      : await db.$queryRaw<{ id: bigint }[]>`
          SELECT id FROM (${Prisma.join(
            branches.map((b) => Prisma.sql`(${b})`),
            ' UNION ALL ',
          )}) page ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
  return rows.map((r) => BigInt(r.id));
}

/** Sums over a group of orders, in minor units. */
export interface Tally {
  orderCount: bigint;
  orderAmount: bigint;
  paidCount: bigint;
  paidAmount: bigint;
  refundCount: bigint;
  refundedAmount: bigint;
  /** The paid orders' fees, their net amounts, and the fee their refunds returned (src/domain/fees.ts). */
  feeAmount: bigint;
  netAmount: bigint;
  refundedFee: bigint;
}

/** The orders of one (status, pay way, local day). */
export interface StatisticsCell extends Tally {
  status: OrderStatus;
  payWay: string;
  day: string;
}

export interface StatisticsRange {
  tenantId: string;
  currency: string;
  from: Date;
  to: Date;
  /** The time zone's spans of constant UTC offset over [from, to); see src/domain/time-zones.ts. */
  spans: OffsetSpan[];
}

/** The orders of one (status, pay way) over a whole range. */
export type StatusWayCell = Omit<StatisticsCell, 'day'>;
/** The orders of one local day. */
export type DayCell = Tally & { day: string };

/** A range's statistics as the two views GetStatistics shows: per (status, pay way), and per local day. */
export interface StatisticsCells {
  cells: StatusWayCell[];
  days: DayCell[];
}

const QUARTER_MS = 900_000;
const DAY_MS = 86400_000;
const floorTo = (t: Date, ms: number) => new Date(Math.floor(t.getTime() / ms) * ms);
const ceilTo = (t: Date, ms: number) => new Date(Math.ceil(t.getTime() / ms) * ms);

/**
 * Orders created in [from, to) in one currency, summed per (status, pay way) and per local day. The whole
 * 15-minute buckets inside the range come from the rollup (order_stats_cell: UTC days, plus quarters at the edges;
 * order_stats_quarter for the days) and the changes not folded into it yet (order_stats_delta), the few minutes before the first and after the last
 * bucket from the orders themselves: a 90-day range reads ~90 day rows per cell, ~8,640 quarter rows and at most
 * 30 minutes of orders, whatever the number of orders. The rollup answers exactly when every local midnight falls
 * on a quarter: the zone's offsets are multiples of 15 minutes and it changes them on a quarter (every zone today);
 * otherwise (a pre-1970 offset such as LMT) the whole range is summed from the orders.
 */
export async function statisticsCells(db: Db, r: StatisticsRange): Promise<StatisticsCells> {
  const [qFrom, qTo] = [ceilTo(r.from, QUARTER_MS), floorTo(r.to, QUARTER_MS)];
  const quarterZone = r.spans.every((s, i) => s.offsetSeconds % 900 === 0 && (i === 0 || s.from.getTime() % QUARTER_MS === 0));
  if (!quarterZone || qFrom >= qTo) return fromOrders(await rawCells(db, r, [[r.from, r.to]]));
  const [dFrom, dTo] = [ceilTo(qFrom, DAY_MS), floorTo(qTo, DAY_MS)];
  const edges: [Date, Date][] = [
    ...(r.from < qFrom ? [[r.from, qFrom] as [Date, Date]] : []),
    ...(qTo < r.to ? [[qTo, r.to] as [Date, Date]] : []),
  ];
  const inRollup =
    dFrom < dTo
      ? Prisma.sql`((grain = 'DAY' AND bucket >= ${dFrom} AND bucket < ${dTo})
            OR (grain = 'QUARTER' AND ((bucket >= ${qFrom} AND bucket < ${dFrom}) OR (bucket >= ${dTo} AND bucket < ${qTo}))))`
      : Prisma.sql`grain = 'QUARTER' AND bucket >= ${qFrom} AND bucket < ${qTo}`;
  // Each view reads the rollup rows and the deltas not folded into them yet in one statement (one snapshot): a fold
  // that commits meanwhile moves deltas into rows, and the statement sees them in exactly one of the two.
  const cells = db.$queryRaw<StatusWayCell[]>`
    SELECT status, pay_way AS payWay, CAST(SUM(order_count) AS SIGNED) AS orderCount,
           CAST(SUM(order_amount) AS SIGNED) AS orderAmount,
           CAST(SUM(IF(status IN (${Prisma.join(PAID_STATUSES)}), order_count, 0)) AS SIGNED) AS paidCount,
           CAST(SUM(IF(status IN (${Prisma.join(PAID_STATUSES)}), order_amount, 0)) AS SIGNED) AS paidAmount,
           CAST(SUM(refund_count) AS SIGNED) AS refundCount, CAST(SUM(refunded_amount) AS SIGNED) AS refundedAmount,
           CAST(SUM(fee_amount) AS SIGNED) AS feeAmount, CAST(SUM(net_amount) AS SIGNED) AS netAmount,
           CAST(SUM(refunded_fee) AS SIGNED) AS refundedFee
      FROM (
        SELECT status, pay_way, order_count, order_amount, refund_count, refunded_amount, fee_amount, net_amount, refunded_fee
          FROM order_stats_cell
         WHERE tenant_id = ${r.tenantId} AND currency = ${r.currency} AND ${inRollup}
        UNION ALL
        SELECT status, pay_way, order_count, order_amount, refund_count, refunded_amount, fee_amount, net_amount, refunded_fee
          FROM order_stats_delta
         WHERE tenant_id = ${r.tenantId} AND currency = ${r.currency} AND created_at >= ${qFrom} AND created_at < ${qTo}
      ) c
     GROUP BY status, pay_way
    HAVING SUM(order_count) <> 0`;
  const paid = Prisma.join(PAID_STATUSES);
  const days = db.$queryRaw<DayCell[]>`
    SELECT DATE_FORMAT(bucket + INTERVAL ${offsetSql(r.spans, Prisma.raw('bucket'))} SECOND, '%Y-%m-%d') AS \`day\`,
           CAST(SUM(order_count) AS SIGNED) AS orderCount, CAST(SUM(order_amount) AS SIGNED) AS orderAmount,
           CAST(SUM(paid_count) AS SIGNED) AS paidCount, CAST(SUM(paid_amount) AS SIGNED) AS paidAmount,
           CAST(SUM(refund_count) AS SIGNED) AS refundCount, CAST(SUM(refunded_amount) AS SIGNED) AS refundedAmount,
           CAST(SUM(fee_amount) AS SIGNED) AS feeAmount, CAST(SUM(net_amount) AS SIGNED) AS netAmount,
           CAST(SUM(refunded_fee) AS SIGNED) AS refundedFee
      FROM (
        SELECT bucket, order_count, order_amount, paid_count, paid_amount, refund_count, refunded_amount, fee_amount, net_amount, refunded_fee
          FROM order_stats_quarter
         WHERE tenant_id = ${r.tenantId} AND currency = ${r.currency} AND bucket >= ${qFrom} AND bucket < ${qTo}
        UNION ALL
        -- A delta's own time stands for its quarter: the zone's offset changes only on a quarter (quarterZone).
        SELECT created_at, order_count, order_amount, IF(status IN (${paid}), order_count, 0), IF(status IN (${paid}), order_amount, 0),
               refund_count, refunded_amount, fee_amount, net_amount, refunded_fee
          FROM order_stats_delta
         WHERE tenant_id = ${r.tenantId} AND currency = ${r.currency} AND created_at >= ${qFrom} AND created_at < ${qTo}
      ) q
     GROUP BY \`day\`
    HAVING SUM(order_count) <> 0`;
  // Three independent reads, on up to three pooled connections at once.
  const [rolled, byDay, raw] = await Promise.all([cells, days, edges.length > 0 ? rawCells(db, r, edges) : []]);
  const fromEdges = fromOrders(raw);
  return { cells: [...rolled, ...fromEdges.cells], days: [...byDay, ...fromEdges.days] };
}

/** Cells summed from the orders themselves, as the two views. */
function fromOrders(cells: StatisticsCell[]): StatisticsCells {
  return { cells: cells.map(({ day: _day, ...c }) => c), days: cells.map(({ status: _s, payWay: _w, ...c }) => c) };
}

/**
 * Orders created in the given ranges summed per (status, pay way, local day) from pay_order itself, through
 * idx_pay_order_tenant_created_at, with each order's SUCCESS refunds through idx_refund_pay_no: the edges of a
 * range, or a range in a zone the rollup cannot cut.
 */
function rawCells(db: Db, r: StatisticsRange, ranges: [Date, Date][]): Promise<StatisticsCell[]> {
  const paid = Prisma.join(PAID_STATUSES);
  const inRanges = Prisma.join(
    ranges.map(([from, to]) => Prisma.sql`(o.created_at >= ${from} AND o.created_at < ${to})`),
    ' OR ',
  );
  return db.$queryRaw<StatisticsCell[]>`
    SELECT o.status, o.pay_way AS payWay,
           DATE_FORMAT(o.created_at + INTERVAL ${offsetSql(r.spans, Prisma.raw('o.created_at'))} SECOND, '%Y-%m-%d') AS \`day\`,
           COUNT(*) AS orderCount,
           CAST(SUM(o.amount) AS SIGNED) AS orderAmount,
           CAST(SUM(o.status IN (${paid})) AS SIGNED) AS paidCount,
           CAST(SUM(IF(o.status IN (${paid}), o.amount, 0)) AS SIGNED) AS paidAmount,
           CAST(SUM(o.refund_count) AS SIGNED) AS refundCount,
           CAST(SUM(o.refunded_amount) AS SIGNED) AS refundedAmount,
           CAST(SUM(o.fee) AS SIGNED) AS feeAmount,
           CAST(SUM(o.net_amount) AS SIGNED) AS netAmount,
           CAST(SUM(o.refunded_fee) AS SIGNED) AS refundedFee
      FROM (
        SELECT o.status, o.pay_way, o.amount, o.created_at, o.fee, o.net_amount, o.refunded_fee,
               (SELECT COUNT(*) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS' AND NOT r.duplicate) AS refund_count,
               (SELECT COALESCE(SUM(r.amount), 0) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS' AND NOT r.duplicate) AS refunded_amount
          FROM pay_order o
         WHERE o.tenant_id = ${r.tenantId} AND o.currency = ${r.currency} AND (${inRanges})
      ) o
     GROUP BY o.status, o.pay_way, \`day\``;
}

/** The UTC offset at `at`: a constant, or a CASE over the spans when the zone changed offset in the range. */
function offsetSql(spans: OffsetSpan[], at: Prisma.Sql): Prisma.Sql {
  if (spans.length === 1) return Prisma.sql`${spans[0].offsetSeconds}`;
  const whens = spans.slice(1).map((next, i) => Prisma.sql`WHEN ${at} < ${next.from} THEN ${spans[i].offsetSeconds}`);
  return Prisma.sql`(CASE ${Prisma.join(whens, ' ')} ELSE ${spans[spans.length - 1].offsetSeconds} END)`;
}
