import type { TransitionCause } from '../generated/prisma/enums';
import type { RefundStatusResult } from '../channels/types';
import { refundFeeOf } from '../domain/fees';
import { statusAfterRefund } from '../domain/order-status';
import { lockOrder, type PayOrder } from '../repo/pay-orders';
import { casRefundStatus, type Refund } from '../repo/refunds';
import { runTx, type Tx } from '../repo/tx';
import type { Deps } from './deps';
import { amendOrder, transition, type Attribution } from './transition';

/**
 * The single path by which a channel's word about a refund reaches the refund and its order: success moves
 * the reserved amount into the refunded total (and the order to PARTIAL_REFUNDED / REFUNDED), failure
 * releases the reservation. Pending and unknown change nothing. Safe to run twice.
 */
export async function applyRefundStatus(
  deps: Deps,
  refund: Refund,
  status: RefundStatusResult,
  /** A cause alone stands for its system actor. */
  cause: TransitionCause | Attribution,
  inTx?: (tx: Tx, changed: boolean) => Promise<void>,
): Promise<boolean> {
  if (status.outcome !== 'success' && status.outcome !== 'fail') {
    if (inTx) await runTx(deps.db, (tx) => inTx(tx, false));
    return false;
  }
  return runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, refund.payNo);
    const changed =
      status.outcome === 'success'
        ? await succeeded(tx, order, refund, status, typeof cause === 'string' ? { cause } : cause)
        : await failed(tx, order, refund, status);
    await inTx?.(tx, changed);
    return changed;
  });
}

async function succeeded(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult, by: Attribution) {
  const succeededAt = new Date();
  // Its share of the fee, from the refunds that succeeded before it (the order is locked: they are final).
  const fee = refundFeeOf(order.amount, order.fee, order.refundedAmount, refund.amount);
  const set = { channelRefundNo: status.channelRefundNo ?? refund.channelRefundNo, succeededAt, fee };
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'SUCCESS', set))) return false;
  const refundedAmount = order.refundedAmount + refund.amount;
  await transition(tx, order, statusAfterRefund(order.amount, refundedAmount), {
    ...by,
    detail: `refund ${refund.refundNo} ${refund.amount}: ${status.channelStatus}`,
    set: { refundedAmount, refundPendingAmount: order.refundPendingAmount - refund.amount, refundedFee: order.refundedFee + fee },
    event: 'REFUND_SUCCEEDED',
    refund: { ...refund, ...set, status: 'SUCCESS' },
  });
  return true;
}

async function failed(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult) {
  const failureReason = (status.reason ?? status.channelStatus).slice(0, 512);
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'FAILED', { failureReason }))) return false;
  await amendOrder(tx, order, {
    set: { refundPendingAmount: order.refundPendingAmount - refund.amount },
    event: 'REFUND_FAILED',
    refund: { ...refund, status: 'FAILED', failureReason },
  });
  return true;
}
