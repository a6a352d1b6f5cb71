import type { TransitionCause } from '../generated/prisma/enums';
import type { RefundStatusResult } from '../channels/types';
import { statusAfterRefund } from '../domain/order-status';
import { lockOrder, type PayOrder } from '../repo/pay-orders';
import type { ChannelRecord } from '../domain/channel-record';
import { casRefundStatus, noteRefundRecord, type Refund } from '../repo/refunds';
import { runTx, type Tx } from '../repo/tx';
import type { Deps } from './deps';
import { amendOrder, transition, type Attribution } from './transition';

/**
 * The single path by which a channel's word about a refund reaches the refund and its order: success moves
 * the reserved amount into the refunded total (and the order to PARTIAL_REFUNDED / REFUNDED), failure
 * releases the reservation. Pending and unknown change no status; what the channel said (`record`) is kept on the
 * refund all the same while it is pending, and with the change that settles it. Safe to run twice.
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
  return runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, refund.payNo);
    const changed =
      status.outcome === 'success'
        ? await succeeded(tx, order, refund, status, by, record)
        : await failed(tx, order, refund, status, record);
    await inTx?.(tx, changed);
    return changed;
  });
}

async function succeeded(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult, by: Attribution, record?: ChannelRecord) {
  const succeededAt = new Date();
  const set = { channelRefundNo: status.channelRefundNo ?? refund.channelRefundNo, succeededAt };
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'SUCCESS', { ...set, record }))) return false;
  const refundedAmount = order.refundedAmount + refund.amount;
  await transition(tx, order, statusAfterRefund(order.amount, refundedAmount), {
    ...by,
    detail: `refund ${refund.refundNo} ${refund.amount}: ${status.channelStatus}`,
    set: { refundedAmount, refundPendingAmount: order.refundPendingAmount - refund.amount },
    event: 'REFUND_SUCCEEDED',
    refund: { ...refund, ...set, status: 'SUCCESS' },
  });
  return true;
}

async function failed(tx: Tx, order: PayOrder, refund: Refund, status: RefundStatusResult, record?: ChannelRecord) {
  const failureReason = (status.reason ?? status.channelStatus).slice(0, 512);
  if (!(await casRefundStatus(tx, refund.refundNo, 'PENDING', 'FAILED', { failureReason, record }))) return false;
  await amendOrder(tx, order, {
    set: { refundPendingAmount: order.refundPendingAmount - refund.amount },
    event: 'REFUND_FAILED',
    refund: { ...refund, status: 'FAILED', failureReason },
  });
  return true;
}
