import type { Db } from '../infra/db';
import type { Refund } from '../generated/prisma/client';
import type { RefundStatus } from '../generated/prisma/enums';
import { REFUND_COLUMNS, toRefund, type RefundRow } from './rows';
import type { ChannelRecord } from '../domain/channel-record';
import { appendRecord, assignments, type Written } from './sql';
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

/**
 * Marks the order row written (its version and updated_at, as any refund reservation does) without changing what
 * it holds: a duplicate payment's refund is reserved against the refund rows, and this write is what makes two
 * such reservations on two Galera nodes conflict at commit.
 */
export async function touchOrder(tx: Tx, payNo: string): Promise<void> {
  await tx.$executeRaw`UPDATE pay_order SET version = version + 1, updated_at = UTC_TIMESTAMP(3) WHERE pay_no = ${payNo}`;
}

/**
 * The sum of a duplicate payment's refunds (attempt `attemptNo` of order `payNo`) in these statuses: PENDING and
 * SUCCESS for what is taken of it, SUCCESS for what is refunded. Read under the order's lock where a decision
 * depends on it.
 */
export async function duplicateRefundTotal(
  db: Queryable,
  payNo: string,
  attemptNo: string,
  statuses: readonly RefundStatus[],
): Promise<bigint> {
  const [row] = await sqlFor(db).query<{ total: bigint | null }[]>(
    `SELECT SUM(amount) AS total FROM refund
      WHERE pay_no = ? AND attempt_no = ? AND duplicate = TRUE AND status IN (${statuses.map(() => '?').join(', ')})`,
    [payNo, attemptNo, ...statuses],
  );
  return BigInt(row?.total ?? 0);
}

/** One INSERT; the refund is returned as written, with the id the database gave it. */
export async function insertRefund(
  tx: Tx,
  r: Pick<
    Refund,
    'refundNo' | 'tenantId' | 'outRefundNo' | 'payNo' | 'attemptNo' | 'duplicate' | 'amount' | 'currency' | 'reason' | 'requestedBy'
  >,
): Promise<Refund> {
  const now = new Date();
  const { insertId } = await tx.write`
    INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, duplicate, amount, currency, reason, status,
      requested_by, created_at, updated_at)
    VALUES (${r.refundNo}, ${r.tenantId}, ${r.outRefundNo}, ${r.payNo}, ${r.attemptNo}, ${r.duplicate}, ${r.amount}, ${r.currency},
      ${r.reason}, 'PENDING', ${r.requestedBy}, ${now}, ${now})`;
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
    channelRecords: null,
  };
}

/** Compare-and-set of a refund's status, appending `record` to its channel records in the same statement. */
export async function casRefundStatus(
  tx: Tx,
  refundNo: string,
  from: RefundStatus,
  to: RefundStatus,
  { record, ...set }: Partial<Pick<Refund, 'channelRefundNo' | 'failureReason' | 'succeededAt' | 'fee'>> & { record?: ChannelRecord } = {},
): Promise<boolean> {
  const { sql, args } = assignments(REFUND_SET_COLUMNS, set);
  const append = record ? APPEND_REFUND_RECORD : '';
  const n = await tx.query<Written>(`UPDATE refund SET ${sql}${append}status = ?, updated_at = ? WHERE refund_no = ? AND status = ?`, [
    ...args,
    ...(record ? [JSON.stringify(record)] : []),
    to,
    new Date(),
    refundNo,
    from,
  ]);
  return n.affectedRows === 1;
}

/**
 * Keeps what the channel said of a refund it has not settled (PROCESSING, no answer): the refund path is not hot,
 * and such an answer moves no status, so this is its own statement. updated_at is left alone (the sweep reads it as
 * "last asked", which the status sync stamps itself). False once the refund is final.
 */
export async function noteRefundRecord(db: Queryable, refundNo: string, record: ChannelRecord): Promise<boolean> {
  const n = await sqlFor(db).query<Written>(NOTE_REFUND_RECORD, [JSON.stringify(record), refundNo]);
  return n.affectedRows === 1;
}

const APPEND_REFUND_RECORD = appendRecord('channel_records');
const NOTE_REFUND_RECORD = `UPDATE refund SET ${APPEND_REFUND_RECORD.slice(0, -2)} WHERE refund_no = ? AND status = 'PENDING'`;

const REFUND_SET_COLUMNS: Readonly<Record<string, string>> = {
  channelRefundNo: 'channel_refund_no',
  failureReason: 'failure_reason',
  succeededAt: 'succeeded_at',
  fee: 'fee',
};
