import type { ReconDifferenceKind, ReconRunStatus } from '../generated/prisma/enums';
import type { ReconRun } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import { PAY_ORDER_COLUMNS, toPayOrder, type PayOrderRow } from './rows';
import type { PayOrder } from './pay-orders';
import { sqlOf, type Written } from './sql';
import { sqlFor, type Queryable } from './tx';

/**
 * The SQL of statement reconciliation (issue 15): the run row's lifecycle, the batch look-ups of a statement's
 * attempts and refunds, the differences and their events' orders. The scratch connection whose TEMPORARY tables hold
 * what a run has seen and staged is in recon-scratch.ts.
 */

export type { ReconRun };

export interface RunKey {
  id: bigint;
  tenantId: string;
  channel: string;
  /** yyyy-MM-dd */
  day: string;
}

/** One INSERT of a RUNNING run; throws a unique violation (isUniqueViolation) while another of the day runs. */
export async function insertRunningRun(db: Db, r: Omit<RunKey, 'id'> & { actor: string; startedAt: Date }): Promise<bigint> {
  const { insertId } = await sqlOf(db).write`
    INSERT INTO recon_run (tenant_id, channel, day, status, running, actor, started_at)
    VALUES (${r.tenantId}, ${r.channel}, ${r.day}, 'RUNNING', TRUE, ${r.actor.slice(0, 128)}, ${r.startedAt})`;
  return insertId;
}

/** The day's RUNNING run, if any: its id and when it started. */
export async function findRunningRun(db: Db, k: Omit<RunKey, 'id'>): Promise<{ id: bigint; startedAt: Date } | undefined> {
  const [row] = await sqlOf(db).query<{ id: bigint; started_at: Date }[]>(
    `SELECT id, started_at FROM recon_run WHERE tenant_id = ? AND channel = ? AND day = ? AND running = TRUE`,
    [k.tenantId, k.channel, k.day],
  );
  return row ? { id: row.id, startedAt: row.started_at } : undefined;
}

/** RUNNING → FAILED for a run whose process is gone; false when it finished (or was taken over) meanwhile. */
export async function abandonRun(db: Db, id: bigint, error: string, now: Date): Promise<boolean> {
  const n = await sqlOf(db).query<Written>(
    `UPDATE recon_run SET status = 'FAILED', running = NULL, error = ?, finished_at = ? WHERE id = ? AND running = TRUE`,
    [error.slice(0, 512), now, id],
  );
  return n.affectedRows === 1;
}

export interface RunOutcome {
  status: Exclude<ReconRunStatus, 'RUNNING'>;
  error?: string;
  paymentLines: number;
  refundLines: number;
  matched: number;
  differences: number;
  applied: number;
  statementAmount: bigint;
  statementRefundAmount: bigint;
  statementFeeMilliFen: bigint;
  finishedAt: Date;
}

/** RUNNING → its end: one UPDATE, only of the run still running (a takeover may have ended it). */
export async function finishRun(db: Db, id: bigint, o: RunOutcome): Promise<boolean> {
  const n = await sqlOf(db).query<Written>(
    `UPDATE recon_run SET status = ?, running = NULL, error = ?, payment_lines = ?, refund_lines = ?, matched = ?, differences = ?,
       applied = ?, statement_amount = ?, statement_refund_amount = ?, statement_fee_milli_fen = ?, finished_at = ?
     WHERE id = ? AND running = TRUE`,
    [
      o.status,
      o.error?.slice(0, 512) ?? null,
      o.paymentLines,
      o.refundLines,
      o.matched,
      o.differences,
      o.applied,
      o.statementAmount,
      o.statementRefundAmount,
      o.statementFeeMilliFen,
      o.finishedAt,
      id,
    ],
  );
  return n.affectedRows === 1;
}

export function findRun(db: Db, id: bigint): Promise<ReconRun> {
  return db.reconRun.findUniqueOrThrow({ where: { id } });
}

/** What a run compares a payment line with: the attempt and its order. */
export interface AttemptFacts {
  attemptNo: string;
  payNo: string;
  channel: string;
  status: string;
  paidAmount: bigint | null;
  /** Fen: the fee recorded with the payment (0 when the tenant's rule charges none). */
  fee: bigint;
  orderAmount: bigint;
}

/**
 * The tenant's attempts numbered exactly as given (one SELECT): utf8mb4_bin ignores trailing spaces, so every
 * row is checked again byte for byte, as findAttempt does.
 */
export async function attemptsByNo(db: Db, tenantId: string, nos: readonly string[]): Promise<Map<string, AttemptFacts>> {
  const found = new Map<string, AttemptFacts>();
  if (nos.length === 0) return found;
  const rows = await sqlOf(db).query<
    { attempt_no: string; pay_no: string; channel: string; status: string; paid_amount: bigint | null; fee: bigint; amount: bigint }[]
  >(
    `SELECT a.attempt_no, a.pay_no, a.channel, a.status, a.paid_amount, a.fee, o.amount
       FROM pay_attempt a JOIN pay_order o ON o.pay_no = a.pay_no
      WHERE a.tenant_id = ? AND a.attempt_no IN (${placeholders(nos.length)})`,
    [tenantId, ...nos],
  );
  const wanted = new Set(nos);
  for (const r of rows) {
    if (!wanted.has(r.attempt_no)) continue;
    found.set(r.attempt_no, {
      attemptNo: r.attempt_no,
      payNo: r.pay_no,
      channel: r.channel,
      status: r.status,
      paidAmount: r.paid_amount,
      fee: r.fee,
      orderAmount: r.amount,
    });
  }
  return found;
}

/** What a run compares a refund line with. */
export interface RefundFacts {
  refundNo: string;
  payNo: string;
  attemptNo: string;
  status: string;
  amount: bigint;
}

/** The tenant's refunds numbered exactly as given (refund_no: what we sent as out_refund_no / out_request_no). */
export async function refundsByNo(db: Db, tenantId: string, nos: readonly string[]): Promise<Map<string, RefundFacts>> {
  const found = new Map<string, RefundFacts>();
  if (nos.length === 0) return found;
  const rows = await sqlOf(db).query<{ refund_no: string; pay_no: string; attempt_no: string; status: string; amount: bigint }[]>(
    `SELECT refund_no, pay_no, attempt_no, status, amount FROM refund WHERE tenant_id = ? AND refund_no IN (${placeholders(nos.length)})`,
    [tenantId, ...nos],
  );
  const wanted = new Set(nos);
  for (const r of rows) {
    if (!wanted.has(r.refund_no)) continue;
    found.set(r.refund_no, { refundNo: r.refund_no, payNo: r.pay_no, attemptNo: r.attempt_no, status: r.status, amount: r.amount });
  }
  return found;
}

/** One difference as stored (recon_difference without the run's columns). */
export interface Difference {
  kind: ReconDifferenceKind;
  payNo?: string | null;
  attemptNo?: string | null;
  refundNo?: string | null;
  outTradeNo?: string | null;
  channelTradeNo?: string | null;
  outRefundNo?: string | null;
  statementAmount?: bigint | null;
  localAmount?: bigint | null;
  statementFeeMilliFen?: bigint | null;
  localFeeMilliFen?: bigint | null;
  line?: number | null;
  resolution: 'APPLIED' | 'FLAGGED' | 'REPORTED';
  detail: string;
}

export const DIFF_COLUMNS =
  'kind, pay_no, attempt_no, refund_no, out_trade_no, channel_trade_no, out_refund_no, statement_amount, local_amount, ' +
  'statement_fee_milli_fen, local_fee_milli_fen, line, resolution, detail';

export const diffValues = (d: Difference): unknown[] => [
  d.kind,
  d.payNo ?? null,
  d.attemptNo ?? null,
  d.refundNo ?? null,
  d.outTradeNo?.slice(0, 64) ?? null,
  d.channelTradeNo?.slice(0, 64) ?? null,
  d.outRefundNo?.slice(0, 64) ?? null,
  d.statementAmount ?? null,
  d.localAmount ?? null,
  d.statementFeeMilliFen ?? null,
  d.localFeeMilliFen ?? null,
  d.line ?? null,
  d.resolution,
  d.detail.slice(0, 512),
];

/** The differences of a run: one multi-row INSERT. */
export async function insertDifferences(q: Queryable, run: RunKey, diffs: readonly Difference[]): Promise<void> {
  if (diffs.length === 0) return;
  const row = `(?, ?, ?, ?, ${placeholders(14)})`;
  await sqlFor(q).query(
    `INSERT INTO recon_difference (run_id, tenant_id, channel, day, ${DIFF_COLUMNS}) VALUES ${diffs.map(() => row).join(', ')}`,
    diffs.flatMap((d) => [run.id, run.tenantId, run.channel, run.day, ...diffValues(d)]),
  );
}

/**
 * Of these (pay_no, kind, attempt_no, refund_no), the ones an earlier run of the same day already recorded: the order
 * side hears of a difference once, however many runs find it.
 */
export async function knownDifferences(q: Queryable, run: RunKey, diffs: readonly Difference[]): Promise<Set<string>> {
  const payNos = [...new Set(diffs.map((d) => d.payNo).filter((p): p is string => !!p))];
  if (payNos.length === 0) return new Set();
  const rows = await sqlFor(q).query<{ pay_no: string; kind: string; attempt_no: string | null; refund_no: string | null }[]>(
    `SELECT pay_no, kind, attempt_no, refund_no FROM recon_difference
      WHERE pay_no IN (${placeholders(payNos.length)}) AND tenant_id = ? AND channel = ? AND day = ? AND run_id <> ? AND resolution = 'FLAGGED'`,
    [...payNos, run.tenantId, run.channel, run.day, run.id],
  );
  return new Set(rows.map((r) => differenceKey({ payNo: r.pay_no, kind: r.kind, attemptNo: r.attempt_no, refundNo: r.refund_no })));
}

export const differenceKey = (d: { payNo?: string | null; kind: string; attemptNo?: string | null; refundNo?: string | null }): string =>
  `${d.payNo ?? ''}/${d.kind}/${d.attemptNo ?? ''}/${d.refundNo ?? ''}`;

/** Orders by pay_no, as they are now (for the events of differences; nothing is changed, so nothing is locked). */
export async function ordersByPayNo(q: Queryable, payNos: readonly string[]): Promise<Map<string, PayOrder>> {
  const found = new Map<string, PayOrder>();
  if (payNos.length === 0) return found;
  const rows = await sqlFor(q).query<PayOrderRow[]>(
    `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE pay_no IN (${placeholders(payNos.length)})`,
    [...payNos],
  );
  for (const r of rows) found.set(r.pay_no, toPayOrder(r));
  return found;
}

export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
