import type { Db } from '../infra/db';
import type { Refund } from '../generated/prisma/client';
import type { RefundStatus } from '../generated/prisma/enums';
import { REFUND_COLUMNS, toRefund, type RefundRow } from './rows';
import { assignments, type Written } from './sql';
import { sqlFor, type Queryable, type Tx } from './tx';

export type { Refund };

export function findRefund(db: Db, tenantId: string, outRefundNo: string): Promise<Refund | null> {
  return db.refund.findUnique({ where: { tenantId_outRefundNo: { tenantId, outRefundNo } } });
}

/** The refund numbered exactly `refundNo` (ours, sent back by the channel: compared again byte for byte). */
export async function findRefundByNo(db: Queryable, refundNo: string): Promise<Refund | null> {
  const [row] = await sqlFor(db).query<RefundRow[]>(REFUND_BY_NO, [refundNo]);
  return row?.refund_no === refundNo ? toRefund(row) : null;
}

const REFUND_BY_NO = `SELECT ${REFUND_COLUMNS} FROM refund WHERE refund_no = ?`;

/** A tenant's refunds (or one order's), oldest first, after row id `afterId`, at most `take`. */
export function listRefundsAfter(
  db: Db,
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
  const n = await tx.query<Written>(
    `UPDATE pay_order
        SET refund_pending_amount = refund_pending_amount + ?, version = version + 1, updated_at = UTC_TIMESTAMP(3)
      WHERE pay_no = ? AND status IN (${refundable.map(() => '?').join(', ')})
        AND amount - refunded_amount - refund_pending_amount >= ?`,
    [amount, payNo, ...refundable, amount],
  );
  return n.affectedRows === 1;
}

/** One INSERT; the refund is returned as written, with the id the database gave it. */
export async function insertRefund(
  tx: Tx,
  r: Pick<Refund, 'refundNo' | 'tenantId' | 'outRefundNo' | 'payNo' | 'attemptNo' | 'amount' | 'currency' | 'reason' | 'requestedBy'>,
): Promise<Refund> {
  const now = new Date();
  const { insertId } = await tx.write`
    INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status, requested_by,
      created_at, updated_at)
    VALUES (${r.refundNo}, ${r.tenantId}, ${r.outRefundNo}, ${r.payNo}, ${r.attemptNo}, ${r.amount}, ${r.currency}, ${r.reason},
      'PENDING', ${r.requestedBy}, ${now}, ${now})`;
  return {
    ...r,
    id: insertId,
    status: 'PENDING',
    channelRefundNo: null,
    failureReason: null,
    fee: 0n,
    createdAt: now,
    updatedAt: now,
    succeededAt: null,
  };
}

/** Compare-and-set of a refund's status. */
export async function casRefundStatus(
  tx: Tx,
  refundNo: string,
  from: RefundStatus,
  to: RefundStatus,
  set: Partial<Pick<Refund, 'channelRefundNo' | 'failureReason' | 'succeededAt' | 'fee'>> = {},
): Promise<boolean> {
  const { sql, args } = assignments(REFUND_SET_COLUMNS, set);
  const n = await tx.query<Written>(`UPDATE refund SET ${sql}status = ?, updated_at = ? WHERE refund_no = ? AND status = ?`, [
    ...args,
    to,
    new Date(),
    refundNo,
    from,
  ]);
  return n.affectedRows === 1;
}

const REFUND_SET_COLUMNS: Readonly<Record<string, string>> = {
  channelRefundNo: 'channel_refund_no',
  failureReason: 'failure_reason',
  succeededAt: 'succeeded_at',
  fee: 'fee',
};
