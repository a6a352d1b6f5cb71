import {
  AUTOMATIC_REFUND_ACTORS,
  AUTOMATIC_REFUND_REASONS,
  automaticRefundNo,
  automaticRefundTries,
  kindOf,
  nextTryDueAt,
  type AutomaticRefundTarget,
} from '../domain/automatic-refunds';
import { findAttempt, findOrder, type PayOrder } from '../repo/pay-orders';
import { duplicateRefundTotal, findRefund } from '../repo/refunds';
import type { Deps } from './deps';
import { refundOrder } from './refund-order';
import { scheduleAutomaticRefund } from './schedule-sync';

/**
 * The service's own refund of a payment after close (PAID_AFTER_CLOSE_POLICY=refund) or of a duplicate payment
 * (DUPLICATE_PAYMENT_POLICY=refund), through the ordinary refund path. Run by its job (src/jobs/automatic-refunds.ts),
 * never inline. Walks the target's tries in order (their out_refund_no are fixed, see domain/automatic-refunds):
 * one that succeeded ends it; one still pending is sent again (the channel dedupes on our refund number); after
 * one that failed, the next is started once its wait is over (earlier, it is scheduled for then); after the last
 * failed, nothing more is tried (its failure was surfaced as it was recorded, see apply-refund-status.ts).
 * Safe to run any number of times, at once or after a crash. Throws for the job to retry.
 */
export async function runAutomaticRefund(deps: Deps, target: AutomaticRefundTarget): Promise<string> {
  const order = await findOrder(deps.db, { tenantId: target.tenantId, payNo: target.payNo });
  if (!order) return 'order is gone';
  const refused = await refusal(deps, order, target);
  if (refused) return refused;
  const tries = automaticRefundTries(deps.automaticRefundRetryDelaysMs);
  for (let tryNo = 1; tryNo <= tries; tryNo++) {
    const refund = await findRefund(deps.db, target.tenantId, automaticRefundNo(target, tryNo));
    if (refund?.status === 'SUCCESS') return `refunded by try ${tryNo}`;
    if (refund?.status === 'FAILED') continue;
    if (!refund && tryNo > 1) {
      const failed = await findRefund(deps.db, target.tenantId, automaticRefundNo(target, tryNo - 1));
      const due = failed && nextTryDueAt(deps.automaticRefundRetryDelaysMs, tryNo - 1, failed.updatedAt);
      if (due && due > deps.now()) {
        await scheduleAutomaticRefund(deps, target, { tryNo, at: due });
        return `try ${tryNo} is due at ${due.toISOString()}`;
      }
    }
    return send(deps, order, target, tryNo);
  }
  return `gave up after ${tries} tries`;
}

/** Starts try `tryNo` (or sends it again, if it is pending): a replay of the same Refund command. */
async function send(deps: Deps, order: PayOrder, target: AutomaticRefundTarget, tryNo: number): Promise<string> {
  const kind = kindOf(target);
  const amount = await amountOfTry(deps, order, target, tryNo);
  if (amount <= 0n) return `nothing left to refund: refunded otherwise before try ${tryNo}`;
  try {
    const { refund } = await refundOrder(
      deps,
      {
        ref: { tenantId: target.tenantId, payNo: target.payNo },
        outRefundNo: automaticRefundNo(target, tryNo),
        amount,
        reason: AUTOMATIC_REFUND_REASONS[kind],
        ...(target.attemptNo ? { attemptNo: target.attemptNo } : {}),
      },
      { actor: AUTOMATIC_REFUND_ACTORS[kind] },
    );
    return `try ${tryNo}: refund is ${refund.status}`;
  } catch (err) {
    deps.log.error({ err, payNo: target.payNo, attemptNo: target.attemptNo, tryNo }, 'automatic refund could not be sent');
    throw err;
  }
}

/**
 * What try `tryNo` asks for: a try already written is replayed as written; a new one asks for what the payment has
 * left (what it paid, a payment of another amount is never applied, less what other refunds took meanwhile, an
 * operator's among them), so a refund made by hand between two tries ends the tries instead of failing each one.
 */
async function amountOfTry(deps: Deps, order: PayOrder, target: AutomaticRefundTarget, tryNo: number): Promise<bigint> {
  const written = await findRefund(deps.db, target.tenantId, automaticRefundNo(target, tryNo));
  if (written) return written.amount;
  if (!target.attemptNo) return order.amount - order.refundedAmount - order.refundPendingAmount;
  return order.amount - (await duplicateRefundTotal(deps.db, order.payNo, target.attemptNo, ['PENDING', 'SUCCESS']));
}

/** Why there is nothing (more) to refund automatically, if so. */
async function refusal(deps: Deps, order: PayOrder, target: AutomaticRefundTarget): Promise<string | undefined> {
  if (!target.attemptNo) {
    return order.status === 'PAID_AFTER_CLOSE' && deps.paidAfterClose === 'refund' ? undefined : `order is ${order.status}`;
  }
  // A duplicate's first try is written with the duplicate (apply-trade-status.ts) only under the refund policy.
  const first = await findRefund(deps.db, target.tenantId, automaticRefundNo(target, 1));
  if (!first) return 'no automatic refund was decided for this attempt';
  const attempt = await findAttempt(deps.db, target.attemptNo);
  return attempt?.payNo === order.payNo ? undefined : 'attempt is not of this order';
}
