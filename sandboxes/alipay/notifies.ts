import { randomBytes } from 'node:crypto';
import { fenToYuan } from '../../src/channels/alipay/amount';
import { beijingTime } from '../../src/channels/alipay/time';
import type { SandboxRefund, SandboxTrade } from './trade-book';

/**
 * The fields of Alipay's trade_status_sync notifies, before notify_time, sign_type and sign (added per
 * delivery attempt). One notify_id per notification, kept across its retries.
 */
function common(trade: SandboxTrade): Record<string, string> {
  return {
    notify_type: 'trade_status_sync',
    notify_id: randomBytes(16).toString('hex'),
    app_id: trade.appId,
    auth_app_id: trade.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    buyer_id: trade.buyerId,
    buyer_logon_id: trade.buyerLogonId,
    seller_id: trade.sellerId,
    subject: trade.subject,
    total_amount: fenToYuan(trade.amount),
    gmt_create: beijingTime(trade.createdAt),
    ...(trade.passbackParams && { passback_params: trade.passbackParams }),
  };
}

/** TRADE_SUCCESS; `shift` (fen) misreports the amount, for the hostile "amount mismatch". */
export function paymentNotify(trade: SandboxTrade, shift = 0n): Record<string, string> {
  const paid = fenToYuan(trade.amount + shift);
  return {
    ...common(trade),
    trade_status: 'TRADE_SUCCESS',
    total_amount: paid,
    receipt_amount: paid,
    invoice_amount: paid,
    buyer_pay_amount: paid,
    point_amount: '0.00',
    gmt_payment: beijingTime(trade.paidAt ?? new Date()),
    fund_bill_list: JSON.stringify([{ amount: paid, fundChannel: 'ALIPAYACCOUNT' }]),
  };
}

/** After a refund: TRADE_SUCCESS with out_biz_no and the cumulative refund_fee, or TRADE_CLOSED once refunded in full. */
export function refundNotify(trade: SandboxTrade, refund: SandboxRefund, refundedTotal: bigint): Record<string, string> {
  const full = refundedTotal >= trade.amount;
  const at = beijingTime(refund.at);
  return {
    ...common(trade),
    trade_status: full ? 'TRADE_CLOSED' : 'TRADE_SUCCESS',
    out_biz_no: refund.outRequestNo,
    refund_fee: fenToYuan(refundedTotal),
    gmt_refund: `${at}.${String(refund.at.getMilliseconds()).padStart(3, '0')}`,
    ...(trade.paidAt && { gmt_payment: beijingTime(trade.paidAt) }),
    ...(full && { gmt_close: at }),
  };
}

/** An unpaid trade closed. */
export function closedNotify(trade: SandboxTrade): Record<string, string> {
  return { ...common(trade), trade_status: 'TRADE_CLOSED', gmt_close: beijingTime(trade.closedAt ?? new Date()) };
}

/** The signed GET params a browser comes back to return_url with (before signing). */
export function syncReturnParams(trade: SandboxTrade): Record<string, string> {
  return {
    out_trade_no: trade.outTradeNo,
    trade_no: trade.tradeNo,
    total_amount: fenToYuan(trade.amount),
    seller_id: trade.sellerId,
    app_id: trade.appId,
    auth_app_id: trade.appId,
    charset: 'utf-8',
    version: '1.0',
    timestamp: beijingTime(new Date()),
    method: `alipay.trade.${trade.kind}.pay.return`,
  };
}
