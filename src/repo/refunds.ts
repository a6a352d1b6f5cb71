import type { Refund } from '../generated/prisma/client';
import type { RefundStatus } from '../generated/prisma/enums';
import type { DbOrTx, Tx } from './tx';

export type { Refund };

export function findRefund(db: DbOrTx, tenantId: string, outRefundNo: string): Promise<Refund | null> {
  return db.refund.findUnique({ where: { tenantId_outRefundNo: { tenantId, outRefundNo } } });
}

/** The refund numbered exactly `refundNo` (ours, sent back by the channel: compared again byte for byte). */
export async function findRefundByNo(db: DbOrTx, refundNo: string): Promise<Refund | null> {
  const refund = await db.refund.findUnique({ where: { refundNo } });
  return refund?.refundNo === refundNo ? refund : null;
}

/** A tenant's refunds (or one order's), oldest first, after row id `afterId`, at most `take`. */
export function listRefundsAfter(
  db: DbOrTx,
  scope: { tenantId: string; payNo?: string },
  afterId: bigint | undefined,
  take: number,
): Promise<Refund[]> {
  return db.refund.findMany({
    where: {
      tenantId: scope.tenantId,
      ...(scope.payNo ? { payNo: scope.payNo } : {}),
      ...(afterId === undefined ? {} : { id: { gt: afterId } }),
    },
    orderBy: { id: 'asc' },
    take,
  });
}

/**
 * Reserves `amount` of the order's refundable balance (paid − refunded − pending) in one conditional UPDATE,
 * so concurrent refunds can never together exceed what was paid. False when the balance is too small or the
 * order is not in a refundable status.
 */
export async function reserveRefund(tx: Tx, payNo: string, amount: bigint, refundable: readonly string[]): Promise<boolean> {
  const n = await tx.$executeRawUnsafe(
    `UPDATE pay_order
        SET refund_pending_amount = refund_pending_amount + ?, version = version + 1, updated_at = UTC_TIMESTAMP(3)
      WHERE pay_no = ? AND status IN (${refundable.map(() => '?').join(', ')})
        AND amount - refunded_amount - refund_pending_amount >= ?`,
    amount,
    payNo,
    ...refundable,
    amount,
  );
  return n === 1;
}

export function insertRefund(
  tx: Tx,
  r: Pick<Refund, 'refundNo' | 'tenantId' | 'outRefundNo' | 'payNo' | 'attemptNo' | 'amount' | 'currency' | 'reason' | 'requestedBy'>,
): Promise<Refund> {
  return tx.refund.create({ data: { ...r, status: 'PENDING' } });
}

/** Compare-and-set of a refund's status. */
export async function casRefundStatus(
  tx: Tx,
  refundNo: string,
  from: RefundStatus,
  to: RefundStatus,
  set: Partial<Pick<Refund, 'channelRefundNo' | 'failureReason' | 'succeededAt'>> = {},
): Promise<boolean> {
  const { count } = await tx.refund.updateMany({ where: { refundNo, status: from }, data: { ...set, status: to } });
  return count === 1;
}
