import type { StatementLine } from '../../reconcile';
import type { AttemptFacts, Difference, RefundFacts } from '../../repo/reconciliation';

/**
 * What one statement line means against the books, decided without the database (the run looked the books up
 * for the whole batch): matched, a difference to record, or a change to apply once the statement has ended
 * cleanly (a payment the channel took that the books lack, a refund the channel made that is still pending here).
 */
export type Verdict =
  | { kind: 'matched'; fee?: Difference }
  | { kind: 'difference'; difference: Difference }
  | { kind: 'applyPayment'; line: StatementLine; attempt: AttemptFacts }
  | { kind: 'applyRefund'; line: StatementLine; refund: RefundFacts };

/** A fee differs when the statement's and ours are a whole fen or more apart (statement fees are milli-fen). */
export const FEE_TOLERANCE_MILLI_FEN = 1000n;

/**
 * The refund statuses a statement prints for a refund that is done (Alipay's 业务类型 退款, WeChat's 退款状态
 * SUCCESS); any other (WeChat PROCESSING) proves nothing yet, and the refund's own status sync settles it.
 */
const FINAL_REFUND_WORDS: ReadonlySet<string> = new Set(['退款', 'SUCCESS']);

/** The statuses a statement prints for a payment received (Alipay 交易, WeChat SUCCESS); any other is no payment. */
const PAID_WORDS: ReadonlySet<string> = new Set(['交易', 'SUCCESS']);

export function judgePayment(line: StatementLine, attempt: AttemptFacts | undefined, channel: string): Verdict {
  const at = lineFacts(line);
  if (!attempt || attempt.channel !== channel) {
    return flagged({
      ...at,
      kind: 'UNKNOWN_TRADE',
      detail: `line ${line.line}: ${line.outTradeNo} is no ${channel} attempt of this tenant`,
    });
  }
  const ours = { payNo: attempt.payNo, attemptNo: attempt.attemptNo };
  if (!PAID_WORDS.has(line.status)) {
    // A line that is no payment received (WeChat REVOKED…) proves nothing to apply: a person looks.
    return flagged({
      ...at,
      ...ours,
      kind: 'STATUS_MISMATCH',
      detail: `statement says ${line.status}, the attempt is ${attempt.status} here`,
    });
  }
  if (attempt.status !== 'SUCCESS') {
    if (line.amount !== attempt.orderAmount) {
      return flagged({
        ...at,
        ...ours,
        kind: 'AMOUNT_MISMATCH',
        localAmount: attempt.orderAmount,
        detail: `paid ${line.amount} at the channel, the order is for ${attempt.orderAmount}; attempt is ${attempt.status} here: not applied`,
      });
    }
    return { kind: 'applyPayment', line, attempt };
  }
  const paid = attempt.paidAmount ?? attempt.orderAmount;
  if (line.amount !== paid) {
    return flagged({
      ...at,
      ...ours,
      kind: 'AMOUNT_MISMATCH',
      localAmount: paid,
      detail: `statement amount ${line.amount}, paid here ${paid}`,
    });
  }
  return { kind: 'matched', fee: feeDifference(line, attempt) };
}

/**
 * The fee rule (issue 14) is checked only where the books carry a fee (a tenant with a fee rule): the statement's
 * fee (milli-fen) and the attempt's (fen) differ by a whole fen or more → FEE_MISMATCH, reported, nothing changed.
 * Sub-fen differences are the channel's rounding, never a difference.
 */
function feeDifference(line: StatementLine, attempt: AttemptFacts): Difference | undefined {
  if (attempt.fee <= 0n) return undefined;
  const local = attempt.fee * 1000n;
  const gap = line.feeMilliFen - local;
  if (gap < FEE_TOLERANCE_MILLI_FEN && -gap < FEE_TOLERANCE_MILLI_FEN) return undefined;
  return {
    ...lineFacts(line),
    payNo: attempt.payNo,
    attemptNo: attempt.attemptNo,
    kind: 'FEE_MISMATCH',
    resolution: 'REPORTED',
    localAmount: attempt.paidAmount ?? attempt.orderAmount,
    statementFeeMilliFen: line.feeMilliFen,
    localFeeMilliFen: local,
    detail: `statement fee ${line.feeMilliFen} milli-fen, ours ${local} (${attempt.fee} fen)`,
  };
}

export function judgeRefund(
  line: StatementLine,
  refund: RefundFacts | undefined,
  trade: AttemptFacts | undefined,
  channel: string,
): Verdict {
  const at = lineFacts(line);
  const ourTrade = trade && trade.channel === channel ? { payNo: trade.payNo, attemptNo: trade.attemptNo } : {};
  if (!refund || refund.attemptNo !== line.outTradeNo) {
    const whose = ourTrade.payNo
      ? `a refund of our trade ${line.outTradeNo} that`
      : `a refund of ${line.outTradeNo}, no trade of ours, that`;
    return flagged({ ...at, ...ourTrade, kind: 'REFUND_UNKNOWN', detail: `line ${line.line}: ${whose} we never asked for` });
  }
  const ours = { payNo: refund.payNo, attemptNo: refund.attemptNo, refundNo: refund.refundNo, localAmount: refund.amount };
  if (line.amount !== refund.amount) {
    return flagged({ ...at, ...ours, kind: 'REFUND_AMOUNT_MISMATCH', detail: `statement refund ${line.amount}, ours ${refund.amount}` });
  }
  const final = FINAL_REFUND_WORDS.has(line.status);
  if (refund.status === 'SUCCESS' || !final) return { kind: 'matched' };
  if (refund.status === 'PENDING') return { kind: 'applyRefund', line, refund };
  return flagged({
    ...at,
    ...ours,
    kind: 'STATUS_MISMATCH',
    detail: `refunded at the channel (${line.status}), ${refund.status} here: not changed`,
  });
}

const flagged = (d: Omit<Difference, 'resolution'>): Verdict => ({ kind: 'difference', difference: { ...d, resolution: 'FLAGGED' } });

/** What every difference of a line carries from it. */
export const lineFacts = (line: StatementLine) => ({
  outTradeNo: line.outTradeNo,
  channelTradeNo: line.channelTradeNo,
  outRefundNo: line.outRefundNo ?? null,
  statementAmount: line.amount,
  statementFeeMilliFen: line.feeMilliFen,
  line: line.line,
});
