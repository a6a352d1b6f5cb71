import type { ChannelNotify, ChannelTradeAnswer } from '../channel-module';
import type { Outcome, RefundSnapshot, RefundStatusResult, TradeSnapshot } from '../types';
import type { WechatAccount } from './account';
import type { PrepayBody, Refund, RefundBody, RefundResource, Transaction, WechatRefundStatus, WechatTradeState } from './wire';

/**
 * Pure WeChat Pay v3 ⇄ domain transformations: the status → outcome tables, the error-code table and the
 * request builders. No I/O, no clock (except where a Date is passed in), no keys.
 */

/**
 * trade_state → outcome. REFUND means it was paid and a refund is under way at WeChat: the payment succeeded,
 * flagged refundedAtChannel (the core tells the order side when it had not seen the payment before).
 */
export const TRADE_STATE_OUTCOMES: Readonly<Record<WechatTradeState, Outcome>> = {
  SUCCESS: 'success',
  REFUND: 'success',
  NOTPAY: 'pending',
  USERPAYING: 'pending',
  CLOSED: 'fail',
  REVOKED: 'fail',
  PAYERROR: 'fail',
};

/** Refund status → outcome. ABNORMAL is not final: the money is stuck until someone acts in the console. */
export const REFUND_STATUS_OUTCOMES: Readonly<Record<WechatRefundStatus, Outcome>> = {
  SUCCESS: 'success',
  CLOSED: 'fail',
  PROCESSING: 'pending',
  ABNORMAL: 'pending',
};

export const REFUND_STATUS_REASONS: Readonly<Partial<Record<WechatRefundStatus, string>>> = {
  ABNORMAL:
    'refund ABNORMAL: not final, needs manual handling (the buyer account or card cannot receive it); ' +
    'resolve it in the WeChat Pay merchant console',
  CLOSED: 'refund CLOSED by WeChat Pay',
};

/** A status the table does not know is not something we can act on. */
export function tradeOutcome(tradeState: string): Outcome {
  return Object.hasOwn(TRADE_STATE_OUTCOMES, tradeState) ? TRADE_STATE_OUTCOMES[tradeState as WechatTradeState] : 'unknown';
}

export function refundOutcome(status: string): Outcome {
  return Object.hasOwn(REFUND_STATUS_OUTCOMES, status) ? REFUND_STATUS_OUTCOMES[status as WechatRefundStatus] : 'unknown';
}

export type WechatOperation = 'prepay' | 'query' | 'close' | 'refund' | 'queryRefund';

/**
 * What a signed 4xx answer means, per operation: 'pending' (the channel has not got it yet), 'closed',
 * 'paid' (the base confirms it by a query), 'fail' (an explicit refusal), or 'unknown' (anything else).
 */
export type ErrorVerdict = 'fail' | 'pending' | 'closed' | 'paid' | 'unknown';

export const ERROR_VERDICTS: Readonly<Record<WechatOperation, Readonly<Record<string, ErrorVerdict>>>> = {
  prepay: { PARAM_ERROR: 'fail', INVALID_REQUEST: 'fail', NO_AUTH: 'fail' },
  query: { ORDER_NOT_EXIST: 'pending' },
  close: { ORDER_NOT_EXIST: 'closed', ORDERPAID: 'paid' },
  refund: {
    PARAM_ERROR: 'fail',
    INVALID_REQUEST: 'fail',
    NO_AUTH: 'fail',
    NOT_ENOUGH: 'fail',
    USER_ACCOUNT_ABNORMAL: 'fail',
    ORDER_NOT_EXIST: 'fail',
    RESOURCE_NOT_EXISTS: 'fail',
  },
  queryRefund: { RESOURCE_NOT_EXISTS: 'pending' },
};

/** Codes that mean "try again": never a verdict, whatever the operation. */
const RETRYABLE_CODES = new Set(['SYSTEM_ERROR', 'FREQUENCY_LIMITED', 'RATELIMIT_EXCEEDED', 'SERVICE_UNAVAILABLE']);

export function errorVerdict(op: WechatOperation, httpStatus: number, code: string): ErrorVerdict {
  if (httpStatus < 400 || httpStatus >= 500 || httpStatus === 429 || RETRYABLE_CODES.has(code)) return 'unknown';
  const table = ERROR_VERDICTS[op];
  return Object.hasOwn(table, code) ? table[code] : 'unknown';
}

/** The notify URL's last segment, one per pay way. */
export type TerminalType = 'app' | 'jsapi' | 'native' | 'h5';

/** The notify URL's last segment names the pay way's terminal; refund notifies, which no one pay way owns, say `refund`. */
export function notifyUrl(account: WechatAccount, tenantId: string, terminal: TerminalType | 'refund'): string {
  return `${account.notifyBaseUrl.replace(/\/+$/, '')}/notify/wx/${encodeURIComponent(tenantId)}/${terminal}`;
}

/** RFC 3339 in Beijing time, as WeChat writes it: 2024-01-01T10:00:00+08:00. */
export function beijingTime(at: Date): string {
  return `${new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 19)}+08:00`;
}

/** Fen as a JSON number, only when it is exactly representable and positive. */
export function fenToNumber(fen: bigint): number | undefined {
  return fen > 0n && fen <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(fen) : undefined;
}

/** WeChat's out_trade_no / out_refund_no: 6–32 of letters, digits, _ - | *. */
export const OUT_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;
export const DESCRIPTION_MAX_CHARS = 127;
const REFUND_REASON_MAX_CHARS = 80;

export type Built<T> = { ok: true; body: T } | { ok: false; reason: string };

/** The prepay body, or why none can be sent: a local refusal the channel never sees. */
export function buildPrepayRequest(trade: TradeSnapshot, account: WechatAccount, terminal: TerminalType): Built<PrepayBody> {
  const total = fenToNumber(trade.amount);
  const refuse = (reason: string): Built<PrepayBody> => ({ ok: false, reason });
  if (total === undefined) return refuse(`amount ${trade.amount} fen is not a positive safe integer`);
  if (trade.currency !== 'CNY') return refuse(`WeChat Pay takes CNY only, not ${trade.currency}`);
  if (!OUT_NO.test(trade.attemptNo)) return refuse(`attempt no ${trade.attemptNo} is not a valid out_trade_no`);
  const description = truncate(trade.subject.trim(), DESCRIPTION_MAX_CHARS);
  if (description === '') return refuse('the subject (description) is empty');
  if (terminal === 'jsapi' && trade.payerId === '') return refuse('JSAPI needs the payer openid (payerId)');
  if (terminal === 'h5' && trade.clientIp === '') return refuse("H5 needs the payer's client IP");
  const body: PrepayBody = {
    appid: account.appId,
    mchid: account.mchId,
    description,
    out_trade_no: trade.attemptNo,
    time_expire: beijingTime(trade.expireAt),
    ...(trade.attach !== '' && { attach: trade.attach }),
    notify_url: notifyUrl(account, trade.tenantId, terminal),
    amount: { total, currency: 'CNY' },
  };
  if (terminal === 'jsapi') body.payer = { openid: trade.payerId };
  if (terminal === 'h5') body.scene_info = { payer_client_ip: trade.clientIp, h5_info: { type: 'Wap' } };
  return { ok: true, body };
}

export function buildRefundRequest(
  r: RefundSnapshot,
  account: WechatAccount,
  terminal: TerminalType | 'refund' = 'refund',
): Built<RefundBody> {
  const refund = fenToNumber(r.amount);
  const total = fenToNumber(r.tradeAmount);
  const refuse = (reason: string): Built<RefundBody> => ({ ok: false, reason });
  if (refund === undefined || total === undefined) return refuse('refund or trade amount is not a positive safe int');
  if (r.amount > r.tradeAmount) return refuse(`refund ${r.amount} exceeds the paid ${r.tradeAmount}`);
  if (r.currency !== 'CNY') return refuse(`WeChat Pay refunds CNY only, not ${r.currency}`);
  if (!OUT_NO.test(r.refundNo)) return refuse(`refund no ${r.refundNo} is not a valid out_refund_no`);
  const reason = truncate(r.reason.trim(), REFUND_REASON_MAX_CHARS);
  return {
    ok: true,
    body: {
      out_trade_no: r.attemptNo,
      out_refund_no: r.refundNo,
      ...(reason !== '' && { reason }),
      notify_url: notifyUrl(account, r.tenantId, terminal),
      amount: { refund, total, currency: 'CNY' },
    },
  };
}

/** What a Transaction says, with whose trade it is, for the base's integrity check. */
export function toTradeAnswer(tx: Transaction): ChannelTradeAnswer {
  const outcome = tradeOutcome(tx.trade_state);
  const answer: ChannelTradeAnswer = { outcome, channelStatus: tx.trade_state, outTradeNo: tx.out_trade_no };
  if (tx.trade_state === 'CLOSED') answer.closedUnpaid = true;
  if (tx.trade_state === 'REFUND') answer.refundedAtChannel = true;
  if (tx.appid !== undefined) answer.appId = tx.appid;
  if (tx.mchid !== undefined) answer.merchantId = tx.mchid;
  if (tx.transaction_id) answer.channelTradeNo = tx.transaction_id;
  if (tx.amount?.currency !== undefined) answer.currency = tx.amount.currency;
  if (outcome === 'success') {
    answer.paidAmount = tx.amount?.total;
    if (tx.success_time) answer.paidAt = new Date(tx.success_time);
    if (tx.payer?.openid) answer.payerChannelId = tx.payer.openid;
  } else if (tx.trade_state_desc) {
    answer.reason = tx.trade_state_desc;
  }
  // Paid: the channel's words and what the buyer paid go to the records (unpaid, the words are the reason already).
  const payerAmount = tx.amount?.payer_total;
  if (outcome === 'success' && (tx.trade_state_desc !== undefined || payerAmount !== undefined)) {
    answer.said = { ...(tx.trade_state_desc && { message: tx.trade_state_desc }), ...(payerAmount !== undefined && { payerAmount }) };
  }
  return answer;
}

export function toRefundStatus(r: Refund): RefundStatusResult {
  return refundStatus(r.status, r.refund_id);
}

/** A refund answer about another refund, trade or amount is not an answer: 'unknown', with why. */
export function checkedRefundStatus(r: RefundSnapshot, answer: Refund): RefundStatusResult {
  const problems: string[] = [];
  if (answer.out_refund_no !== r.refundNo) problems.push(`out_refund_no ${answer.out_refund_no} is not ${r.refundNo}`);
  if (answer.out_trade_no !== r.attemptNo) problems.push(`out_trade_no ${answer.out_trade_no ?? '(missing)'} is not ${r.attemptNo}`);
  if (answer.amount.refund !== r.amount) problems.push(`refund amount ${answer.amount.refund} is not ${r.amount}`);
  const status = toRefundStatus(answer);
  if (problems.length === 0) return status;
  const reason = `integrity check failed: ${problems.join('; ')}`;
  return { outcome: 'unknown', channelStatus: status.channelStatus, reason };
}

function refundStatus(status: string, refundId: string): RefundStatusResult {
  const outcome = refundOutcome(status);
  const result: RefundStatusResult = { outcome, channelStatus: status, channelRefundNo: refundId };
  const reason = REFUND_STATUS_REASONS[status as WechatRefundStatus];
  if (reason !== undefined) result.reason = reason;
  return result;
}

export function toPaymentNotify(eventId: string, tx: Transaction): ChannelNotify {
  const { outTradeNo, appId, merchantId, ...status } = toTradeAnswer(tx);
  return {
    notify: { kind: 'payment', notifyId: eventId, attemptNo: tx.out_trade_no, status },
    identity: { outTradeNo, appId, merchantId },
  };
}

export function toRefundNotify(eventId: string, r: RefundResource): ChannelNotify {
  return {
    notify: {
      kind: 'refund',
      notifyId: eventId,
      attemptNo: r.out_trade_no,
      refundNo: r.out_refund_no,
      status: refundStatus(r.refund_status, r.refund_id),
      amount: r.amount.refund,
    },
    identity: { outTradeNo: r.out_trade_no, merchantId: r.mchid },
  };
}

/** At most `max` characters (code points, so no surrogate pair is cut in half). */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}
