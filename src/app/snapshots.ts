import type { RefundSnapshot, TradeSnapshot } from '../channels/types';
import type { PayAttempt, PayOrder, Refund } from '../repo/pay-orders';

/** What a channel handler may know of a trade: a plain copy, never a database row it could write back. */
export function tradeSnapshot(order: Omit<PayOrder, 'id'>, attempt: PayAttempt): TradeSnapshot {
  return {
    tenantId: order.tenantId,
    payNo: order.payNo,
    attemptNo: attempt.attemptNo,
    amount: order.amount,
    currency: order.currency,
    subject: order.subject,
    description: order.description,
    attach: order.attach,
    expireAt: order.expireAt,
    clientIp: attempt.clientIp || order.clientIp,
    payerId: attempt.payerId,
    returnUrl: order.returnUrl,
  };
}

export function refundSnapshot(order: PayOrder, refund: Refund): RefundSnapshot {
  return {
    tenantId: order.tenantId,
    payNo: order.payNo,
    attemptNo: refund.attemptNo,
    refundNo: refund.refundNo,
    tradeAmount: order.amount,
    amount: refund.amount,
    currency: refund.currency,
    reason: refund.reason,
  };
}
