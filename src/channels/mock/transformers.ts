import type { ChannelNotify, ChannelTradeAnswer } from '../channel-module';
import type { Outcome, RefundSnapshot, RefundStatusResult, TradeSnapshot, TradeStatus, VerifiedNotify } from '../types';
import type { MockRefundStatus, MockTradeStatus, NotifyBody, RefundResponse, TradeResponse } from './wire';

/**
 * Mock channel trade status → outcome. REFUND means "paid, then (partly) refunded": the payment succeeded,
 * flagged refundedAtChannel.
 */
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
  return Object.hasOwn(TRADE_STATUS_OUTCOMES, channelStatus) ? TRADE_STATUS_OUTCOMES[channelStatus as MockTradeStatus] : 'unknown';
}

export function refundOutcome(channelStatus: string): Outcome {
  return Object.hasOwn(REFUND_STATUS_OUTCOMES, channelStatus) ? REFUND_STATUS_OUTCOMES[channelStatus as MockRefundStatus] : 'unknown';
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
  if (trade.status === 'REFUND') status.refundedAtChannel = true;
  if (outcome === 'success') {
    status.paidAmount = trade.amount;
    if (trade.paid_at) status.paidAt = new Date(trade.paid_at);
    if (trade.payer_id) status.payerChannelId = trade.payer_id;
  }
  return status;
}

/** A trade answer with whose trade it is, for the guard's integrity check (merchant, trade, amount, currency). */
export function toTradeAnswer(trade: TradeResponse): ChannelTradeAnswer {
  return { ...toTradeStatus(trade), outTradeNo: trade.out_trade_no, merchantId: trade.mch_id };
}

/** A query answer about another trade is not an answer: 'unknown', with why (amount and currency are the core's check). */
export function checkedTradeStatus(trade: TradeSnapshot, answer: TradeResponse): TradeStatus {
  const status = toTradeStatus(answer);
  if (answer.out_trade_no === trade.attemptNo) return status;
  const reason = `integrity check failed: out_trade_no ${answer.out_trade_no} is not ${trade.attemptNo}`;
  return { outcome: 'unknown', channelStatus: status.channelStatus, reason };
}

/** A refund answer about another refund, trade or amount is not an answer: 'unknown', with why. */
export function checkedRefundStatus(refund: RefundSnapshot, answer: RefundResponse, merchantId: string): RefundStatusResult {
  const problems: string[] = [];
  if (answer.out_refund_no !== refund.refundNo) problems.push(`out_refund_no ${answer.out_refund_no} is not ${refund.refundNo}`);
  if (answer.mch_id !== merchantId) problems.push(`merchant ${answer.mch_id} is not ${merchantId}`);
  if (answer.out_trade_no !== refund.attemptNo) problems.push(`out_trade_no ${answer.out_trade_no} is not ${refund.attemptNo}`);
  if (answer.amount !== refund.amount) problems.push(`refund amount ${answer.amount} is not ${refund.amount}`);
  const status = toRefundStatus(answer);
  if (problems.length === 0) return status;
  return { outcome: 'unknown', channelStatus: status.channelStatus, reason: `integrity check failed: ${problems.join('; ')}` };
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
        ...(notify.payer_id && { payerChannelId: notify.payer_id }),
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

/** A verified notify with whose trade it is, for the guard's integrity check. */
export function toChannelNotify(notify: NotifyBody): ChannelNotify {
  return { notify: toVerifiedNotify(notify), identity: { outTradeNo: notify.out_trade_no, merchantId: notify.mch_id } };
}
