import type { Db } from '../infra/db';
import { AUTOMATIC_REFUND_ACTORS } from '../domain/automatic-refunds';
import type { PayOrder } from './pay-orders';

/** The sweeper's reads: work whose job may have been lost. Each is bounded and served by an index. */

/** Where a scan of due orders stands: after this row, in (expire_at, id) order, of this status. */
export interface DueCursor {
  status: OpenStatus;
  expireAt: Date;
  id: bigint;
}

export type OpenStatus = 'WAIT_PAY' | 'PAYING';
export const OPEN_STATUSES: readonly OpenStatus[] = ['WAIT_PAY', 'PAYING'];

/**
 * The next `limit` unpaid orders with expire_at in (after, upTo], one status at a time, in (expire_at, id) order
 * after `cursor`: an equality on status, a range on expire_at and the primary key the index carries, so each
 * batch reads `limit` rows of idx_pay_order_status_expire_at and sorts nothing, however long the backlog.
 * Orders whose close keeps failing stay behind the cursor and cannot hide the ones after them.
 */
export async function findDueOrders(db: Db, range: { after?: Date; upTo: Date }, limit: number, cursor?: DueCursor): Promise<PayOrder[]> {
  const statuses = cursor ? OPEN_STATUSES.slice(OPEN_STATUSES.indexOf(cursor.status)) : OPEN_STATUSES;
  for (const status of statuses) {
    const from = cursor?.status === status ? cursor : undefined;
    const rows = await db.payOrder.findMany({
      where: {
        status,
        expireAt: { ...(range.after ? { gt: range.after } : {}), lte: range.upTo, ...(from ? { gte: from.expireAt } : {}) },
        ...(from ? { OR: [{ expireAt: { gt: from.expireAt } }, { id: { gt: from.id } }] } : {}),
      },
      orderBy: [{ expireAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
    if (rows.length > 0) return rows;
  }
  return [];
}

/** How many unpaid orders expired before `before`, counted up to `cap` (a bounded index range per status). */
export async function countOverdueOrders(db: Db, before: Date, cap: number): Promise<number> {
  let n = 0;
  for (const status of OPEN_STATUSES) {
    const rows = await db.payOrder.findMany({
      where: { status, expireAt: { lt: before } },
      select: { id: true },
      take: cap - n,
    });
    n += rows.length;
    if (n >= cap) break;
  }
  return n;
}

/** Marks attempts as just asked (updated_at is "last asked"), so one that keeps failing waits its turn. */
export async function stampAttempts(db: Db, attemptNos: string[]): Promise<void> {
  if (attemptNos.length === 0) return;
  await db.payAttempt.updateMany({
    where: { attemptNo: { in: attemptNos }, status: { in: ['CREATED', 'OPEN'] } },
    data: { updatedAt: new Date() },
  });
}

export async function stampRefunds(db: Db, refundNos: string[]): Promise<void> {
  if (refundNos.length === 0) return;
  await db.refund.updateMany({ where: { refundNo: { in: refundNos }, status: 'PENDING' }, data: { updatedAt: new Date() } });
}

/** Open attempts of live (unexpired) PAYING orders nobody asked the channel about since `askedBefore`. */
export async function findStaleAttempts(db: Db, askedBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.$queryRaw<{ attempt_no: string }[]>`
    SELECT a.attempt_no FROM pay_attempt a JOIN pay_order o ON o.pay_no = a.pay_no
    WHERE a.status IN ('CREATED', 'OPEN') AND a.updated_at < ${askedBefore}
      AND o.status = 'PAYING' AND o.expire_at > NOW(3)
    ORDER BY a.updated_at LIMIT ${limit}`;
  return rows.map((r) => r.attempt_no);
}

export async function findStalePendingRefunds(db: Db, askedBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.refund.findMany({
    where: { status: 'PENDING', updatedAt: { lt: askedBefore } },
    select: { refundNo: true },
    orderBy: { updatedAt: 'asc' },
    take: limit,
  });
  return rows.map((r) => r.refundNo);
}

/**
 * Orders paid after close whose automatic refund is not under way: never started (a crash right after the
 * payment landed), or its last try failed and fewer than `tries` were made. Those given up (every try failed)
 * stay PAID_AFTER_CLOSE and are left alone here: AUTOMATIC_REFUND_FAILED told of them. A pending try is status
 * sync's (findStalePendingRefunds). The order's updated_at moves with each failure, so `changedBefore` also waits
 * out a try that just failed; the job decides when the next is due.
 */
export async function findUnrefundedPaidAfterClose(
  db: Db,
  changedBefore: Date,
  limit: number,
  tries = 1,
): Promise<{ tenantId: string; payNo: string; amount: bigint }[]> {
  return db.$queryRaw`
    SELECT o.pay_no AS payNo, o.tenant_id AS tenantId, o.amount FROM pay_order o
    WHERE o.status = 'PAID_AFTER_CLOSE' AND o.updated_at < ${changedBefore}
      AND NOT EXISTS (SELECT 1 FROM refund r WHERE r.pay_no = o.pay_no AND r.requested_by = ${AUTOMATIC_REFUND_ACTORS.paidAfterClose}
        AND r.status IN ('PENDING', 'SUCCESS'))
      AND (SELECT COUNT(*) FROM refund r WHERE r.pay_no = o.pay_no AND r.requested_by = ${AUTOMATIC_REFUND_ACTORS.paidAfterClose}) < ${tries}
    ORDER BY o.updated_at LIMIT ${limit}`;
}

/**
 * Duplicate payments whose automatic refund failed (its last try before `failedBefore`) with tries left, none
 * pending or done, and something left to refund (an operator may have refunded it by hand meanwhile): the retry
 * whose job was lost. The first try is written with the duplicate, so a duplicate is
 * never without one (a pending one is status sync's). Reads the failed automatic duplicate refunds only
 * (idx_refund_requested_by_status).
 */
export async function findDuplicateRefundsToRetry(
  db: Db,
  failedBefore: Date,
  limit: number,
  tries: number,
): Promise<{ tenantId: string; payNo: string; attemptNo: string }[]> {
  return db.$queryRaw`
    SELECT r.tenant_id AS tenantId, r.pay_no AS payNo, r.attempt_no AS attemptNo FROM refund r
    WHERE r.requested_by = ${AUTOMATIC_REFUND_ACTORS.duplicate} AND r.status = 'FAILED'
      AND NOT EXISTS (SELECT 1 FROM refund p WHERE p.pay_no = r.pay_no AND p.attempt_no = r.attempt_no
        AND p.requested_by = r.requested_by AND p.status IN ('PENDING', 'SUCCESS'))
      AND (SELECT COALESCE(SUM(p.amount), 0) FROM refund p WHERE p.pay_no = r.pay_no AND p.attempt_no = r.attempt_no
        AND p.duplicate = TRUE AND p.status IN ('PENDING', 'SUCCESS'))
        < (SELECT a.paid_amount FROM pay_attempt a WHERE a.attempt_no = r.attempt_no)
    GROUP BY r.tenant_id, r.pay_no, r.attempt_no
    HAVING COUNT(*) < ${tries} AND MAX(r.updated_at) < ${failedBefore}
    LIMIT ${limit}`;
}
