import { fenToYuan, isTradeAmount, isYuan, yuanToFen } from '../../src/channels/alipay/amount';
import { beijingTime, parseBeijingTime } from '../../src/channels/alipay/time';
import type { SandboxApp } from './protocol';
import { businessFailure } from './rejection';
import type { NewTrade, SandboxRefund, SandboxTrade, SandboxTradeKind, TradeBook } from './trade-book';

/** What a business method gets: the books, the authenticated app, params and parsed biz_content. */
export interface ApiCall {
  book: TradeBook;
  app: SandboxApp;
  params: Record<string, string>;
  biz: Record<string, unknown>;
  /** Base URL the qr_code points at. */
  baseUrl: string;
  events: TradeEvents;
}

/** Side effects the gateway turns into notifies. */
export interface TradeEvents {
  closed(trade: SandboxTrade): void;
  refunded(trade: SandboxTrade, refund: SandboxRefund): void;
}

type Method = (call: ApiCall) => Record<string, string>;

const PRODUCT_CODES: Record<SandboxTradeKind, string> = {
  app: 'QUICK_MSECURITY_PAY',
  wap: 'QUICK_WAP_WAY',
  page: 'FAST_INSTANT_TRADE_PAY',
  precreate: 'FACE_TO_FACE_PAYMENT',
};

export const PAGE_METHODS: Readonly<Record<string, SandboxTradeKind>> = {
  'alipay.trade.wap.pay': 'wap',
  'alipay.trade.page.pay': 'page',
};

const text = (biz: Record<string, unknown>, key: string): string | undefined =>
  typeof biz[key] === 'string' && biz[key] !== '' ? biz[key] : undefined;

const invalid = (what: string) => businessFailure('ACQ.INVALID_PARAMETER', what);

function amountOf(biz: Record<string, unknown>, key: string): bigint {
  const value = text(biz, key);
  if (value === undefined || !isYuan(value)) throw invalid(`${key} must be a yuan amount with at most 2 decimals`);
  const fen = yuanToFen(value);
  if (!isTradeAmount(fen)) throw invalid(`${key} must be within 0.01 and 100000000.00`);
  return fen;
}

/** The order an app/wap/page/precreate request describes; validated as Alipay would. */
export function tradeFromRequest(
  kind: SandboxTradeKind,
  app: SandboxApp,
  params: Record<string, string>,
  biz: Record<string, unknown>,
): NewTrade {
  const outTradeNo = text(biz, 'out_trade_no');
  if (!outTradeNo || !/^[A-Za-z0-9_]{1,64}$/.test(outTradeNo)) throw invalid('out_trade_no must be 1-64 letters, digits or _');
  const subject = text(biz, 'subject');
  if (!subject || subject.length > 256) throw invalid('subject must be 1-256 characters');
  const productCode = text(biz, 'product_code');
  if (productCode !== PRODUCT_CODES[kind] && (productCode !== undefined || kind === 'page')) {
    throw invalid(`product_code must be ${PRODUCT_CODES[kind]}`);
  }
  const timeExpire = text(biz, 'time_expire');
  const expireAt = timeExpire === undefined ? undefined : parseBeijingTime(timeExpire);
  if (timeExpire !== undefined && !expireAt) throw invalid('time_expire must be yyyy-MM-dd HH:mm:ss');
  return {
    kind,
    outTradeNo,
    subject,
    appId: app.appId,
    sellerId: app.sellerId,
    amount: amountOf(biz, 'total_amount'),
    notifyUrl: params.notify_url || undefined,
    returnUrl: params.return_url || undefined,
    passbackParams: text(biz, 'passback_params'),
    expireAt,
  };
}

const ref = (biz: Record<string, unknown>) => {
  const r = { outTradeNo: text(biz, 'out_trade_no'), tradeNo: text(biz, 'trade_no') };
  if (!r.outTradeNo && !r.tradeNo) throw invalid('out_trade_no or trade_no is required');
  return r;
};

const precreate: Method = ({ book, app, params, biz, baseUrl }) => {
  const trade = book.open(tradeFromRequest('precreate', app, params, biz));
  return { out_trade_no: trade.outTradeNo, qr_code: `${baseUrl}/qr/${encodeURIComponent(trade.outTradeNo)}` };
};

const query: Method = ({ book, app, biz }) => {
  const trade = book.visible(app.appId, ref(biz));
  const paid = trade.paidAt ? fenToYuan(trade.amount) : '0.00';
  return {
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    buyer_logon_id: trade.buyerLogonId,
    trade_status: book.status(trade),
    total_amount: fenToYuan(trade.amount),
    buyer_pay_amount: paid,
    point_amount: '0.00',
    invoice_amount: paid,
    receipt_amount: paid,
    ...(trade.paidAt && { send_pay_date: beijingTime(trade.paidAt) }),
    buyer_user_id: trade.buyerId,
  };
};

const close: Method = ({ book, app, biz, events }) => {
  const trade = book.close(app.appId, ref(biz));
  events.closed(trade);
  return { trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo };
};

const refund: Method = ({ book, app, biz, events }) => {
  const trade = book.visible(app.appId, ref(biz));
  const outRequestNo = text(biz, 'out_request_no') ?? trade.outTradeNo;
  const { refund: r, created } = book.refund(trade, outRequestNo, amountOf(biz, 'refund_amount'));
  if (created) events.refunded(trade, r);
  return {
    trade_no: trade.tradeNo,
    out_trade_no: trade.outTradeNo,
    buyer_logon_id: trade.buyerLogonId,
    fund_change: created ? 'Y' : 'N',
    refund_fee: fenToYuan(book.refundedTotal(trade)),
    gmt_refund_pay: beijingTime(r.at),
    send_back_fee: fenToYuan(r.amount),
    buyer_user_id: trade.buyerId,
  };
};

/** A refund never received is a success answer without refund_status, as Alipay answers it. */
const refundQuery: Method = ({ book, app, biz }) => {
  const trade = book.visible(app.appId, ref(biz));
  const outRequestNo = text(biz, 'out_request_no');
  if (!outRequestNo) throw invalid('out_request_no is required');
  const r = trade.refunds.get(outRequestNo);
  const base = { trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo, out_request_no: outRequestNo };
  if (!r) return base;
  return {
    ...base,
    total_amount: fenToYuan(trade.amount),
    refund_amount: fenToYuan(r.amount),
    refund_status: 'REFUND_SUCCESS',
    gmt_refund_pay: beijingTime(r.at),
  };
};

export const API_METHODS: Readonly<Record<string, Method>> = {
  'alipay.trade.precreate': precreate,
  'alipay.trade.query': query,
  'alipay.trade.close': close,
  'alipay.trade.refund': refund,
  'alipay.trade.fastpay.refund.query': refundQuery,
};
