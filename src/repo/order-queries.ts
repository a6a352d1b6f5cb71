import { Prisma } from '../generated/prisma/client';
import { PAID_STATUSES, type OrderStatus } from '../domain/order-status';
import type { OffsetSpan } from '../domain/time-zones';
import type { PayOrder } from './pay-orders';
import type { DbOrTx } from './tx';

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
 * the cursor (or after it, if backdated) and never shift what follows it. Served by idx_pay_order_tenant_created_at,
 * or idx_pay_order_tenant_user_created_at with user_id; InnoDB appends id to both.
 */
export function listOrdersAfter(db: DbOrTx, f: OrderFilter, cursor: OrderCursor | undefined, limit: number): Promise<PayOrder[]> {
  return db.payOrder.findMany({
    where: {
      tenantId: f.tenantId,
      ...(f.userId ? { userId: f.userId } : {}),
      ...(f.statuses.length > 0 ? { status: { in: f.statuses } } : {}),
      ...(f.payWays.length > 0 ? { payWay: { in: f.payWays } } : {}),
      createdAt: { gte: f.createdFrom, lt: f.createdTo },
      ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
  });
}

/** Sums over a group of orders, in minor units. */
export interface Tally {
  orderCount: bigint;
  orderAmount: bigint;
  paidCount: bigint;
  paidAmount: bigint;
  refundCount: bigint;
  refundedAmount: bigint;
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

/**
 * Orders created in [from, to) in one currency, summed per (status, pay way, local day) by the database: at most
 * a few thousand cells whatever the number of orders. Refunds are the order's SUCCESS rows in the refund table,
 * looked up per order through idx_refund_pay_no, so the work follows the orders in the range, not the tenant's history.
 */
export function statisticsCells(db: DbOrTx, r: StatisticsRange): Promise<StatisticsCell[]> {
  const paid = Prisma.join(PAID_STATUSES);
  return db.$queryRaw<StatisticsCell[]>`
    SELECT o.status, o.pay_way AS payWay,
           DATE_FORMAT(o.created_at + INTERVAL ${offsetSql(r.spans)} SECOND, '%Y-%m-%d') AS \`day\`,
           COUNT(*) AS orderCount,
           CAST(SUM(o.amount) AS SIGNED) AS orderAmount,
           CAST(SUM(o.status IN (${paid})) AS SIGNED) AS paidCount,
           CAST(SUM(IF(o.status IN (${paid}), o.amount, 0)) AS SIGNED) AS paidAmount,
           CAST(SUM(o.refund_count) AS SIGNED) AS refundCount,
           CAST(SUM(o.refunded_amount) AS SIGNED) AS refundedAmount
      FROM (
        SELECT o.status, o.pay_way, o.amount, o.created_at,
               (SELECT COUNT(*) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS') AS refund_count,
               (SELECT COALESCE(SUM(r.amount), 0) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS') AS refunded_amount
          FROM pay_order o
         WHERE o.tenant_id = ${r.tenantId} AND o.currency = ${r.currency} AND o.created_at >= ${r.from} AND o.created_at < ${r.to}
      ) o
     GROUP BY o.status, o.pay_way, \`day\``;
}

/** The UTC offset at o.created_at: a constant, or a CASE over the spans when the zone changed offset in the range. */
function offsetSql(spans: OffsetSpan[]): Prisma.Sql {
  if (spans.length === 1) return Prisma.sql`${spans[0].offsetSeconds}`;
  const whens = spans.slice(1).map((next, i) => Prisma.sql`WHEN o.created_at < ${next.from} THEN ${spans[i].offsetSeconds}`);
  return Prisma.sql`(CASE ${Prisma.join(whens, ' ')} ELSE ${spans[spans.length - 1].offsetSeconds} END)`;
}
