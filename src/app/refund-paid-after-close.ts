import { findOrder } from '../repo/pay-orders';
import type { Deps } from './deps';
import { refundOrder } from './refund-order';

/** The out_refund_no of an order's policy refund: one per order, so a second run replays instead of refunding twice. */
export const autoRefundNo = (payNo: string): string => `AUTO-${payNo}`;

/**
 * The default policy for a payment that arrived after the order closed: give the money back, through the
 * ordinary refund path. Run by its own job (src/jobs/paid-after-close.ts), never inline: a notify, a Query with
 * sync, status sync and the sweep only enqueue it. Idempotent on its out_refund_no, and a no-op once the order
 * is no longer PAID_AFTER_CLOSE (refunded, or the policy is reopen). Throws for the job to retry.
 */
export async function refundPaidAfterClose(deps: Deps, tenantId: string, payNo: string): Promise<string> {
  const order = await findOrder(deps.db, { tenantId, payNo });
  if (!order) return 'order is gone';
  if (order.status !== 'PAID_AFTER_CLOSE' || deps.paidAfterClose !== 'refund') return `order is ${order.status}`;
  try {
    const { refund } = await refundOrder(
      deps,
      { ref: { tenantId, payNo }, outRefundNo: autoRefundNo(payNo), amount: order.amount, reason: 'paid after the order was closed' },
      { actor: 'system:paid-after-close' },
    );
    return `refund is ${refund.status}`;
  } catch (err) {
    deps.log.error({ err, payNo }, 'automatic refund of a payment after close failed');
    throw err;
  }
}
