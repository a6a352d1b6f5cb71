import type { Outcome, RefundStatusResult, TradeStatus, VerifiedNotify } from '../types';
import type { MockRefundStatus, MockTradeStatus, NotifyBody, RefundResponse, TradeResponse } from './wire';

/** Mock channel trade status → outcome. REFUND means "paid, then (partly) refunded": the payment succeeded. */
export const TRADE_STATUS_OUTCOMES: Readonly<Record<MockTradeStatus, Outcome>> = {
  NOTPAY: 'pending',
  SUCCESS: 'success',
  CLOSED: 'fail',
  REFUND: 'success',
};

export const REFUND_STATUS_OUTCOMES: Readonly<Record<MockRefundStatus, Outcome>> = {
  PROCESSING: 'pending',
  SUCCESS: 'success',
  FAIL: 'fail',
};

/** A status the table does not know is not something we can act on. */
export function tradeOutcome(channelStatus: string): Outcome {
  return Object.hasOwn(TRADE_STATUS_OUTCOMES, channelStatus)
    ? TRADE_STATUS_OUTCOMES[channelStatus as MockTradeStatus]
    : 'unknown';
}

export function refundOutcome(channelStatus: string): Outcome {
  return Object.hasOwn(REFUND_STATUS_OUTCOMES, channelStatus)
    ? REFUND_STATUS_OUTCOMES[channelStatus as MockRefundStatus]
    : 'unknown';
}

/** Only a paid trade reports a paid amount and time. */
export function toTradeStatus(trade: TradeResponse): TradeStatus {
  const outcome = tradeOutcome(trade.status);
  const status: TradeStatus = {
    outcome,
    channelStatus: trade.status,
    channelTradeNo: trade.trade_no,
    currency: trade.currency,
  };
  if (trade.status === 'CLOSED') status.closedUnpaid = true;
  if (outcome === 'success') {
    status.paidAmount = trade.amount;
    if (trade.paid_at) status.paidAt = new Date(trade.paid_at);
  }
  return status;
}

export function toRefundStatus(refund: RefundResponse): RefundStatusResult {
  return {
    outcome: refundOutcome(refund.status),
    channelStatus: refund.status,
    channelRefundNo: refund.refund_id,
  };
}

export function toVerifiedNotify(notify: NotifyBody): VerifiedNotify {
  if (notify.event === 'TRADE.SUCCESS') {
    return {
      kind: 'payment',
      notifyId: notify.notify_id,
      attemptNo: notify.out_trade_no,
      status: {
        outcome: 'success',
        channelStatus: 'SUCCESS',
        channelTradeNo: notify.trade_no,
        paidAmount: notify.amount,
        currency: notify.currency,
        paidAt: new Date(notify.paid_at),
      },
    };
  }
  const channelStatus: MockRefundStatus = notify.event === 'REFUND.SUCCESS' ? 'SUCCESS' : 'FAIL';
  return {
    kind: 'refund',
    notifyId: notify.notify_id,
    attemptNo: notify.out_trade_no,
    refundNo: notify.out_refund_no,
    status: { outcome: refundOutcome(channelStatus), channelStatus, channelRefundNo: notify.refund_id },
    amount: notify.amount,
  };
}
