import type { TradeStatus } from '../channels/types';
import { feeOf, type FeeRule } from '../domain/fees';
import { isOpen, isPaid } from '../domain/order-status';
import { casAttemptStatus, listAttempts, lockOrder, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { runTx, type Tx } from '../repo/tx';
import type { Deps } from './deps';
import { schedulePaidAfterCloseRefund } from './schedule-sync';
import { amendOrder, transition, type Attribution } from './transition';

export type ApplyResult =
  | { kind: 'applied'; order: PayOrder }
  | { kind: 'unchanged'; order: PayOrder; reason: string }
  /** The channel's answer contradicts the local order (amount, currency); nothing was changed. */
  | { kind: 'mismatch'; order: PayOrder; reason: string }
  /** A second attempt of an already paid order was paid too: the buyer paid twice. Recorded, not yet refunded. */
  | { kind: 'doublePayment'; order: PayOrder; reason: string };

/** The cause, and the actor (a caller for Query with sync, Cancel, Prepay; the system's otherwise). */
export interface ApplyOptions extends Attribution {
  /** Extra writes in the same transaction (a notify's receipt and record); throwing rolls everything back. */
  inTx?: (tx: Tx, result: ApplyResult) => Promise<void>;
}

/**
 * The single path by which a channel's word about a trade reaches an order, whether it came from a notify,
 * a status query, a close that found the trade paid, or a timeout. Only an explicit success or failure
 * changes anything; pending and unknown never do.
 */
export async function applyTradeStatus(deps: Deps, attempt: PayAttempt, status: TradeStatus, opts: ApplyOptions): Promise<ApplyResult> {
  // Read before the transaction, from the cache (no round trip on a hit): the rule in force when the payment is recorded.
  const feeRule = status.outcome === 'success' ? await deps.payWays.feeRule(attempt.tenantId, attempt.payWay) : undefined;
  const result = await runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, attempt.payNo);
    const r = await decide(tx, order, attempt, status, { cause: opts.cause, actor: opts.actor }, deps.paidAfterClose, feeRule);
    await opts.inTx?.(tx, r);
    return r;
  });
  if (result.kind === 'mismatch' || result.kind === 'doublePayment') {
    deps.log.error({ payNo: attempt.payNo, attemptNo: attempt.attemptNo, reason: result.reason }, `channel answer: ${result.kind}`);
  }
  if (result.kind === 'applied' && status.refundedAtChannel) {
    deps.metrics.refundedAtChannel.inc({ channel: attempt.channel });
    const at = { payNo: attempt.payNo, attemptNo: attempt.attemptNo, channelStatus: status.channelStatus, cause: opts.cause };
    deps.log.warn(at, 'paid, and a refund this service did not make is under way at the channel: do not ship, reconcile');
  }
  if (result.kind === 'applied' && result.order.status === 'PAID_AFTER_CLOSE' && deps.paidAfterClose === 'refund') {
    await schedulePaidAfterCloseRefund(deps, result.order); // its own job refunds it, once
  }
  return result;
}

async function decide(
  tx: Tx,
  order: PayOrder,
  attempt: PayAttempt,
  status: TradeStatus,
  by: Attribution,
  policy: Deps['paidAfterClose'],
  feeRule: FeeRule = { rateBps: 0, minFee: 0n },
): Promise<ApplyResult> {
  const detail = `${attempt.payWay} ${attempt.attemptNo}: ${status.channelStatus}`;
  if (status.outcome === 'success') {
    const mismatch = crossCheck(order, status);
    if (mismatch) return { kind: 'mismatch', order, reason: mismatch };
    return paid(tx, order, attempt, status, by, detail, policy, feeRule);
  }
  if (status.outcome === 'fail' && status.closedUnpaid) {
    await casAttemptStatus(tx, attempt.attemptNo, ['CREATED', 'OPEN'], 'CLOSED');
    return { kind: 'unchanged', order, reason: 'the channel closed the trade unpaid' };
  }
  if (status.outcome === 'fail') return failed(tx, order, attempt, by, detail);
  return { kind: 'unchanged', order, reason: `channel says ${status.outcome}` };
}

/** Missing is not matching: a success that does not name the amount and currency paid proves no payment of this order. */
function crossCheck(order: PayOrder, status: TradeStatus): string | undefined {
  if (status.paidAmount !== order.amount) {
    return `paid amount ${status.paidAmount ?? '(missing)'} differs from order amount ${order.amount}`;
  }
  if (status.currency !== order.currency) {
    return `currency ${status.currency ?? '(missing)'} differs from order currency ${order.currency}`;
  }
  return undefined;
}

async function paid(
  tx: Tx,
  order: PayOrder,
  attempt: PayAttempt,
  status: TradeStatus,
  by: Attribution,
  detail: string,
  policy: Deps['paidAfterClose'],
  feeRule: FeeRule,
): Promise<ApplyResult> {
  const channelTradeNo = status.channelTradeNo ?? attempt.channelTradeNo;
  // The amount paid is the order's (crossCheck): its fee and net go on the attempt and the order in the very
  // statements that record the payment.
  const { fee, net: netAmount } = feeOf(order.amount, feeRule);
  const attemptWon = await casAttemptStatus(tx, attempt.attemptNo, ['CREATED', 'OPEN', 'CLOSED', 'FAILED'], 'SUCCESS', {
    channelTradeNo,
    fee,
    netAmount,
  });
  if (isPaid(order.status)) {
    if (!attemptWon) return { kind: 'unchanged', order, reason: 'already applied' };
    // The buyer paid twice. Never forgotten: the order side hears of it (the order's own status is unchanged).
    const reason = `attempt ${attempt.attemptNo} was paid too; the order was already paid by ${order.channelTradeNo}`;
    const second = { channelTradeNo: channelTradeNo ?? null, payWay: attempt.payWay, paidAt: status.paidAt ?? new Date() };
    const next = await amendOrder(tx, order, { event: 'DUPLICATE_PAYMENT', eventShows: second });
    return { kind: 'doublePayment', order: next, reason };
  }
  const set = { paidAt: status.paidAt ?? new Date(), channelTradeNo: channelTradeNo ?? null, payWay: attempt.payWay, fee, netAmount };
  // Paid, but already going back to the buyer by someone else's refund: the order side must hear exactly that.
  const paidEvent = status.refundedAtChannel ? 'PAYMENT_REFUNDED_AT_CHANNEL' : 'PAYMENT_SUCCEEDED';
  if (isOpen(order.status)) {
    return { kind: 'applied', order: await transition(tx, order, 'SUCCESS', { ...by, detail, set, event: paidEvent }) };
  }
  // CLOSED or FAILED: the buyer paid as we gave up. Never drop it: tell the order side, then apply the policy
  // (reopen here, in the same transaction; refund once it commits, through the ordinary refund path).
  const late = await transition(tx, order, 'PAID_AFTER_CLOSE', { ...by, detail, set, event: 'PAID_AFTER_CLOSE' });
  if (policy === 'refund') return { kind: 'applied', order: late };
  const reopened = await transition(tx, late, 'SUCCESS', { ...by, detail: 'policy: reopen as paid', event: paidEvent });
  return { kind: 'applied', order: reopened };
}

async function failed(tx: Tx, order: PayOrder, attempt: PayAttempt, by: Attribution, detail: string): Promise<ApplyResult> {
  await casAttemptStatus(tx, attempt.attemptNo, ['CREATED', 'OPEN'], 'FAILED');
  if (order.status !== 'PAYING') return { kind: 'unchanged', order, reason: `order is ${order.status}` };
  const stillOpen = await listAttempts(tx, order.payNo, ['CREATED', 'OPEN']);
  if (stillOpen.length > 0) return { kind: 'unchanged', order, reason: 'another attempt is still open' };
  return {
    kind: 'applied',
    order: await transition(tx, order, 'FAILED', { ...by, detail, set: { closeReason: 'PAYMENT_FAILED' }, event: 'PAYMENT_FAILED' }),
  };
}
