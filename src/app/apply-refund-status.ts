import type { TransitionCause } from '../generated/prisma/enums';
import type { RefundStatusResult } from '../channels/types';
import { automaticRefundOf, automaticRefundTries, nextTryDueAt, type AutomaticRefundKind } from '../domain/automatic-refunds';
import { refundFeeOf } from '../domain/fees';
import { statusAfterRefund } from '../domain/order-status';
import { findAttempt, lockOrder, type PayOrder } from '../repo/pay-orders';
import type { ChannelRecord } from '../domain/channel-record';
import { casRefundStatus, duplicateRefundTotal, noteRefundRecord, type Refund } from '../repo/refunds';
import { runTx, type Tx } from '../repo/tx';
import type { Deps } from './deps';
import { scheduleAutomaticRefund } from './schedule-sync';
import { amendOrder, transition, type Attribution } from './transition';

/**
 * The single path by which a channel's word about a refund reaches the refund and its order: success moves
 * the reserved amount into the refunded total (and the order to PARTIAL_REFUNDED / REFUNDED), failure
 * releases the reservation. A refund of a duplicate payment moves neither (it never drew on the order's
 * balance): the order side hears of it, and the order keeps its status. Pending and unknown change no status;
 * what the channel said (`record`) is kept on the refund all the same while it is pending, and with the change
 * that settles it. Safe to run twice. A failed automatic refund gets its next try scheduled, or, after its last,
 * is surfaced (AUTOMATIC_REFUND_FAILED and a metric): decided by the refund's compare-and-set, so exactly once.
 */
export async function applyRefundStatus(
  deps: Deps,
  refund: Refund,
  status: RefundStatusResult,
  /** A cause alone stands for its system actor; `record` is what the channel said, for the refund's records. */
  cause: TransitionCause | (Attribution & { record?: ChannelRecord }),
  inTx?: (tx: Tx, changed: boolean) => Promise<void>,
): Promise<boolean> {
  const { record, ...by } = typeof cause === 'string' ? { cause } : cause;
  if (status.outcome !== 'success' && status.outcome !== 'fail') {
    if (inTx) {
      await runTx(deps.db, async (tx) => {
        if (record) await noteRefundRecord(tx, refund.refundNo, record);
        await inTx(tx, false);
      });
    } else if (record) {
      await noteRefundRecord(deps.db, refund.refundNo, record);
    }
    return false;
  }
  const automatic = automaticRefundOf(refund);
  const lastTry = automatic !== undefined && automatic.tryNo >= automaticRefundTries(deps.automaticRefundRetryDelaysMs);
  const changed = await runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, refund.payNo);
    const changed =
      status.outcome === 'success'
        ? await succeeded(tx, order, refund, status, by, record)
        : await failed(tx, order, refund, status, lastTry, record);
    await inTx?.(tx, changed);
    return changed;
  });
  if (changed && status.outcome === 'fail' && automatic) {
    if (lastTry) gaveUp(deps, { ...refund, failureReason: failureReasonOf(status) }, automatic.kind);
    else {
      const at = nextTryDueAt(deps.automaticRefundRetryDelaysMs, automatic.tryNo, deps.now()) ?? deps.now();
      await scheduleAutomaticRefund(deps, automatic.target, { tryNo: automatic.tryNo + 1, at });
    }
  }
  return changed;
}

async function succeeded(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult, by: Attribution, record?: ChannelRecord) {
  const succeededAt = new Date();
  // Its share of the fee, from the refunds that succeeded before it (the order is locked: they are final): of the
  // order's payment, or of the duplicate payment it returns (that attempt's own fee and refunds).
  const fee = refund.duplicate
    ? await duplicateRefundFee(tx, order, refund)
    : refundFeeOf(order.amount, order.fee, order.refundedAmount, refund.amount);
  const set = { channelRefundNo: status.channelRefundNo ?? refund.channelRefundNo, succeededAt, fee };
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'SUCCESS', { ...set, record }))) return false;
  const done: Refund = { ...refund, ...set, status: 'SUCCESS' };
  if (refund.duplicate) {
    await amendOrder(tx, order, { event: 'DUPLICATE_PAYMENT_REFUNDED', refund: done, eventShows: await duplicateShows(tx, refund) });
    return true;
  }
  const refundedAmount = order.refundedAmount + refund.amount;
  await transition(tx, order, statusAfterRefund(order.amount, refundedAmount), {
    ...by,
    detail: `refund ${refund.refundNo} ${refund.amount}: ${status.channelStatus}`,
    set: { refundedAmount, refundPendingAmount: order.refundPendingAmount - refund.amount, refundedFee: order.refundedFee + fee },
    event: 'REFUND_SUCCEEDED',
    refund: done,
  });
  return true;
}

async function failed(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult, lastTry: boolean, record?: ChannelRecord) {
  const failureReason = failureReasonOf(status);
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'FAILED', { failureReason, record }))) return false;
  await amendOrder(tx, order, {
    ...(refund.duplicate
      ? { eventShows: await duplicateShows(tx, refund) }
      : { set: { refundPendingAmount: order.refundPendingAmount - refund.amount } }),
    event: lastTry ? 'AUTOMATIC_REFUND_FAILED' : 'REFUND_FAILED',
    refund: { ...refund, status: 'FAILED', failureReason },
  });
  return true;
}

/**
 * A duplicate payment's refund returns that payment's own fee in proportion (the fee its attempt was charged when
 * it was paid, and what earlier refunds of it returned), never the order's.
 */
async function duplicateRefundFee(tx: Tx, order: PayOrder, refund: Refund): Promise<bigint> {
  const attempt = await findAttempt(tx, refund.attemptNo);
  const refundedBefore = await duplicateRefundTotal(tx, order.payNo, refund.attemptNo, ['SUCCESS']);
  return refundFeeOf(order.amount, attempt?.fee ?? 0n, refundedBefore, refund.amount);
}

/** A duplicate's refund event names the duplicate payment (its pay way and trade), as DUPLICATE_PAYMENT did. */
async function duplicateShows(tx: Tx, refund: Refund): Promise<{ payWay?: string; channelTradeNo?: string | null }> {
  const attempt = await findAttempt(tx, refund.attemptNo);
  return attempt ? { payWay: attempt.payWay, channelTradeNo: attempt.channelTradeNo } : {};
}

const METRIC_KIND: Readonly<Record<AutomaticRefundKind, string>> = { paidAfterClose: 'paid_after_close', duplicate: 'duplicate' };

/** Why the channel failed a refund, as the refund row keeps it. */
const failureReasonOf = (status: RefundStatusResult): string => (status.reason ?? status.channelStatus).slice(0, 512);

/** Committed: the last try failed. Never silent: the event is in the outbox; operators see this metric and log. */
function gaveUp(deps: Deps, refund: Refund, kind: AutomaticRefundKind): void {
  deps.metrics.automaticRefundFailed.inc({ kind: METRIC_KIND[kind] });
  deps.log.error(
    { payNo: refund.payNo, attemptNo: refund.attemptNo, outRefundNo: refund.outRefundNo, reason: refund.failureReason },
    'automatic refund failed on its last try: refund it by hand',
  );
}
