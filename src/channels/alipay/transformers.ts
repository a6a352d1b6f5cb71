import type { ChannelCloseAnswer, ChannelTradeAnswer } from '../channel-module';
import type { AlipayAccount } from './account';
import type { ChannelSaid, Outcome, RefundSnapshot, RefundStatusResult, TradeSnapshot, TradeStatus } from '../types';
import { fenToYuan, isTradeAmount } from './amount';
import { beijingTime, parseBeijingTime } from './time';
import type { CommonAnswer, QueryAnswer, RefundQueryAnswer } from './wire';

/** Pure tables and builders between our domain and Alipay's classic gateway. */

export type AlipayTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_FINISHED' | 'TRADE_CLOSED';

/** TRADE_FINISHED is paid too (non-refundable product, or the refund window has passed). */
export const TRADE_STATUS_OUTCOMES: Readonly<Record<AlipayTradeStatus, Outcome>> = {
  WAIT_BUYER_PAY: 'pending',
  TRADE_SUCCESS: 'success',
  TRADE_FINISHED: 'success',
  TRADE_CLOSED: 'fail',
};

/** fastpay.refund.query: REFUND_SUCCESS is the only status; its absence means "not (yet) refunded". */
export const REFUND_STATUS_OUTCOMES: Readonly<Record<string, Outcome>> = { REFUND_SUCCESS: 'success' };

/** Sub codes meaning "the channel could not tell", whatever the operation: never final. */
export const INDETERMINATE_SUB_CODES: ReadonlySet<string> = new Set(['ACQ.SYSTEM_ERROR', 'aop.unknow-error', 'isp.unknow-error']);

/** alipay.trade.query errors that still say something about the trade; every other error is 'unknown'. */
export const QUERY_ERROR_OUTCOMES: Readonly<Record<string, Outcome>> = {
  /** Not created yet: app/wap/page not opened, or a precreate QR code not scanned. */
  'ACQ.TRADE_NOT_EXIST': 'pending',
};

/** alipay.trade.close errors that answer the close; every other error is 'unknown'. */
export const CLOSE_ERROR_ANSWERS: Readonly<Record<string, 'closed' | 'paid'>> = {
  'ACQ.TRADE_NOT_EXIST': 'closed',
  'ACQ.TRADE_HAS_CLOSE': 'closed',
  'ACQ.TRADE_HAS_SUCCESS': 'paid',
};

export type AlipayTerminalType = 'app' | 'wap' | 'page' | 'qr';

export const PRODUCT_CODES: Readonly<Record<AlipayTerminalType, string>> = {
  app: 'QUICK_MSECURITY_PAY',
  wap: 'QUICK_WAP_WAY',
  page: 'FAST_INSTANT_TRADE_PAY',
  qr: 'FACE_TO_FACE_PAYMENT',
};

const lookup = <V>(table: Readonly<Record<string, V>>, key: string | undefined): V | undefined =>
  key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;

export function tradeOutcome(status: string): Outcome {
  return lookup(TRADE_STATUS_OUTCOMES as Record<string, Outcome>, status) ?? 'unknown';
}

export function isIndeterminate(e: CommonAnswer): boolean {
  return e.code === '20000' || (e.sub_code !== undefined && INDETERMINATE_SUB_CODES.has(e.sub_code));
}

export function describeError(e: CommonAnswer): string {
  const sub = e.sub_code ? ` ${e.sub_code}${e.sub_msg ? ` (${e.sub_msg})` : ''}` : '';
  return `alipay ${e.code}${e.msg ? ` ${e.msg}` : ''}${sub}`.slice(0, 300);
}

/** What an Alipay answer said, for the records: the method called, and its code, sub_code and words. */
export function alipaySaid(method: string, e?: CommonAnswer): ChannelSaid {
  if (!e) return { endpoint: method, code: '10000' };
  const message = [e.msg, e.sub_msg].filter(Boolean).join(': ');
  return { endpoint: method, code: e.code, ...(e.sub_code && { subCode: e.sub_code }), ...(message && { message }) };
}

/**
 * The payer as a paid trade's answer or notify names them: buyer_open_id where the app uses OpenIDs, else the
 * 2088… buyer id (`buyer_id` in notifies, `buyer_user_id` in query answers); buyer_logon_id as Alipay masks it.
 */
export function alipayPayer(ids: {
  openId?: string;
  buyerId?: string;
  logonId?: string;
}): Pick<TradeStatus, 'payerChannelId' | 'payerAccount'> {
  const id = ids.openId || ids.buyerId;
  return { ...(id && { payerChannelId: id }), ...(ids.logonId && { payerAccount: ids.logonId }) };
}

export function queryErrorOutcome(e: CommonAnswer): Outcome {
  return isIndeterminate(e) ? 'unknown' : (lookup(QUERY_ERROR_OUTCOMES, e.sub_code) ?? 'unknown');
}

export function closeErrorAnswer(e: CommonAnswer): ChannelCloseAnswer {
  const answer = isIndeterminate(e) ? undefined : lookup(CLOSE_ERROR_ANSWERS, e.sub_code);
  return answer ? { outcome: answer } : { outcome: 'unknown', reason: describeError(e) };
}

/** Refusals of a create call that do not mean "nothing happened": the trade exists and was paid. */
export const CREATE_ERROR_UNSETTLED: ReadonlySet<string> = new Set(['ACQ.TRADE_HAS_SUCCESS']);

/**
 * For calls that create something (precreate, refund): an explicit, signed refusal means nothing was done,
 * so it is 'fail'; the indeterminate ones (20000, ACQ.SYSTEM_ERROR) may have taken effect, and a precreate
 * refused because the trade is already paid is not a failure either: 'unknown', for a query to settle.
 */
export function createErrorOutcome(e: CommonAnswer): 'fail' | 'unknown' {
  return isIndeterminate(e) || (e.sub_code !== undefined && CREATE_ERROR_UNSETTLED.has(e.sub_code)) ? 'unknown' : 'fail';
}

/**
 * A query answer as the base cross-checks it. A TRADE_CLOSED trade with a payment date was paid and then fully
 * refunded: never 'fail' for that, 'unknown' (the core knows its own refunds). Paid amount and time only when paid.
 */
export function toTradeAnswer(a: QueryAnswer): ChannelTradeAnswer {
  const paidAt = parseBeijingTime(a.send_pay_date);
  const closedAfterPayment = a.trade_status === 'TRADE_CLOSED' && paidAt !== undefined;
  const outcome = closedAfterPayment ? 'unknown' : tradeOutcome(a.trade_status);
  return {
    outcome,
    channelStatus: a.trade_status,
    channelTradeNo: a.trade_no,
    currency: 'CNY',
    outTradeNo: a.out_trade_no,
    ...(closedAfterPayment && { reason: 'trade closed after payment (fully refunded)' }),
    ...(outcome === 'fail' && a.trade_status === 'TRADE_CLOSED' && { closedUnpaid: true }),
    ...(outcome === 'success' && {
      paidAmount: a.total_amount,
      ...(paidAt && { paidAt }),
      ...alipayPayer({ openId: a.buyer_open_id, buyerId: a.buyer_user_id, logonId: a.buyer_logon_id }),
    }),
    said: { ...alipaySaid('alipay.trade.query'), ...(a.buyer_pay_amount !== undefined && { payerAmount: a.buyer_pay_amount }) },
  };
}

export function toRefundStatus(a: RefundQueryAnswer): RefundStatusResult {
  if (!a.refund_status) return { outcome: 'pending', channelStatus: 'REFUND_NOT_FOUND' };
  return { outcome: lookup(REFUND_STATUS_OUTCOMES, a.refund_status) ?? 'unknown', channelStatus: a.refund_status };
}

/** Why this trade cannot be offered to Alipay at all (nothing is sent then), or undefined. */
export function tradeProblem(trade: TradeSnapshot): string | undefined {
  if (trade.currency !== 'CNY') return `Alipay takes CNY only, not ${trade.currency}`;
  if (!isTradeAmount(trade.amount)) return `amount ${trade.amount} is outside Alipay's 0.01 to 100000000.00 yuan`;
  if (!/^[A-Za-z0-9_]{1,64}$/.test(trade.attemptNo)) return `attempt no ${trade.attemptNo} is not a valid out_trade_no`;
  if (trade.subject.length === 0 || trade.subject.length > 256) return 'subject must be 1 to 256 characters';
  if (Number.isNaN(trade.expireAt.getTime())) return 'expireAt is not a valid time';
  return undefined;
}

export function payBizContent(trade: TradeSnapshot, terminal: AlipayTerminalType): Record<string, string> {
  const biz: Record<string, string> = {
    out_trade_no: trade.attemptNo,
    total_amount: fenToYuan(trade.amount),
    subject: trade.subject,
    product_code: PRODUCT_CODES[terminal],
    time_expire: beijingTime(trade.expireAt),
  };
  if (trade.attach !== '') biz.passback_params = encodeURIComponent(trade.attach);
  if (terminal === 'wap' && trade.returnUrl !== '') biz.quit_url = trade.returnUrl;
  return biz;
}

export function refundBizContent(refund: RefundSnapshot): Record<string, string> {
  const biz: Record<string, string> = {
    out_trade_no: refund.attemptNo,
    refund_amount: fenToYuan(refund.amount),
    out_request_no: refund.refundNo,
  };
  if (refund.reason !== '') biz.refund_reason = refund.reason.slice(0, 256);
  return biz;
}

export function notifyUrl(account: AlipayAccount, tenantId: string, terminal: AlipayTerminalType): string {
  return `${account.notifyBaseUrl.replace(/\/+$/, '')}/notify/alipay/${encodeURIComponent(tenantId)}/${terminal}`;
}
