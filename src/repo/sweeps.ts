import type { DbOrTx } from './tx';

/** The sweeper's reads: work whose job may have been lost. Each is bounded and served by an index. */

/**
 * Unpaid orders past their expiry (plus the grace their own timeout job had), in (expire_at, pay_no) order
 * after `after`, so orders whose close keeps failing cannot hide the ones behind them from the sweep.
 */
export async function findOverdueOrders(
  db: DbOrTx,
  expiredBefore: Date,
  limit: number,
  after?: { expireAt: Date; payNo: string },
): Promise<{ tenantId: string; payNo: string; expireAt: Date }[]> {
  return db.payOrder.findMany({
    where: {
      status: { in: ['WAIT_PAY', 'PAYING'] },
      expireAt: { lt: expiredBefore },
      ...(after ? { OR: [{ expireAt: { gt: after.expireAt } }, { expireAt: after.expireAt, payNo: { gt: after.payNo } }] } : {}),
    },
    select: { tenantId: true, payNo: true, expireAt: true },
    orderBy: [{ expireAt: 'asc' }, { payNo: 'asc' }],
    take: limit,
  });
}

/** Marks attempts as just asked (updated_at is "last asked"), so one that keeps failing waits its turn. */
export async function stampAttempts(db: DbOrTx, attemptNos: string[]): Promise<void> {
  if (attemptNos.length === 0) return;
  await db.payAttempt.updateMany({
    where: { attemptNo: { in: attemptNos }, status: { in: ['CREATED', 'OPEN'] } },
    data: { updatedAt: new Date() },
  });
}

export async function stampRefunds(db: DbOrTx, refundNos: string[]): Promise<void> {
  if (refundNos.length === 0) return;
  await db.refund.updateMany({ where: { refundNo: { in: refundNos }, status: 'PENDING' }, data: { updatedAt: new Date() } });
}

/** Open attempts of live (unexpired) PAYING orders nobody asked the channel about since `askedBefore`. */
export async function findStaleAttempts(db: DbOrTx, askedBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.$queryRaw<{ attempt_no: string }[]>`
    SELECT a.attempt_no FROM pay_attempt a JOIN pay_order o ON o.pay_no = a.pay_no
    WHERE a.status IN ('CREATED', 'OPEN') AND a.updated_at < ${askedBefore}
      AND o.status = 'PAYING' AND o.expire_at > NOW(3)
    ORDER BY a.updated_at LIMIT ${limit}`;
  return rows.map((r) => r.attempt_no);
}

export async function findStalePendingRefunds(db: DbOrTx, askedBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.refund.findMany({
    where: { status: 'PENDING', updatedAt: { lt: askedBefore } },
    select: { refundNo: true },
    orderBy: { updatedAt: 'asc' },
    take: limit,
  });
  return rows.map((r) => r.refundNo);
}

/** Orders paid after close whose automatic refund never started (a crash right after the payment landed). */
export async function findUnrefundedPaidAfterClose(
  db: DbOrTx,
  changedBefore: Date,
  limit: number,
): Promise<{ tenantId: string; payNo: string; amount: bigint }[]> {
  return db.$queryRaw`
    SELECT o.pay_no AS payNo, o.tenant_id AS tenantId, o.amount FROM pay_order o
    LEFT JOIN refund r ON r.tenant_id = o.tenant_id AND r.out_refund_no = CONCAT('AUTO-', o.pay_no)
    WHERE o.status = 'PAID_AFTER_CLOSE' AND o.updated_at < ${changedBefore} AND r.id IS NULL
    ORDER BY o.updated_at LIMIT ${limit}`;
}
