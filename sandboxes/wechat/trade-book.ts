import { randomBytes } from 'node:crypto';
import { SandboxRejection } from '../kit/http';
import { randomDigits } from '../kit/keys';
import { beijingTime } from '../../src/channels/wechat/transformers';
import type { WechatRefundStatus, WechatTradeState } from '../../src/channels/wechat/wire';
import type { PrepayRequest, RefundRequest } from './requests';

export type TradeType = 'APP' | 'JSAPI' | 'NATIVE' | 'MWEB';

export interface SandboxTrade {
  mchId: string;
  appId: string;
  outTradeNo: string;
  tradeType: TradeType;
  description: string;
  attach: string;
  notifyUrl: string;
  total: bigint;
  timeExpire?: Date;
  payerOpenid?: string;
  /** The prepay parameters; a repeat with the same ones gets the same answer. */
  fingerprint: string;
  prepayId: string;
  /** Token in the Native code_url and the H5 h5_url. */
  payToken: string;
  closed: boolean;
  /** The buyer's payment was declined: the trade reads PAYERROR unless it is paid after all. */
  declined?: boolean;
  paidAt?: Date;
  transactionId?: string;
}

export interface SandboxRefund {
  mchId: string;
  outRefundNo: string;
  outTradeNo: string;
  refundId: string;
  amount: bigint;
  reason: string;
  notifyUrl: string;
  status: WechatRefundStatus;
  createdAt: Date;
  successAt?: Date;
}

/** Trades keyed by (mchid, out_trade_no), refunds by (mchid, out_refund_no); all in memory. */
export class TradeBook {
  private readonly trades = new Map<string, SandboxTrade>();
  private readonly refunds = new Map<string, SandboxRefund>();
  private readonly byToken = new Map<string, SandboxTrade>();

  prepay(mchId: string, tradeType: TradeType, req: PrepayRequest): SandboxTrade {
    const fingerprint = JSON.stringify([
      tradeType,
      req.appid,
      req.description,
      req.attach ?? '',
      req.notify_url,
      req.amount.total.toString(),
      req.payer?.openid ?? '',
      req.time_expire ? Date.parse(req.time_expire) : '',
    ]);
    const existing = this.find(mchId, req.out_trade_no);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new SandboxRejection(400, 'INVALID_REQUEST', '商户订单号重复 (out_trade_no used with other parameters)');
      }
      if (existing.paidAt) throw new SandboxRejection(400, 'ORDERPAID', '该订单已支付');
      if (this.state(existing) === 'CLOSED') throw new SandboxRejection(400, 'ORDER_CLOSED', '订单已关闭');
      return existing;
    }
    const trade: SandboxTrade = {
      mchId,
      appId: req.appid,
      outTradeNo: req.out_trade_no,
      tradeType,
      description: req.description,
      attach: req.attach ?? '',
      notifyUrl: req.notify_url,
      total: req.amount.total,
      ...(req.time_expire && { timeExpire: new Date(req.time_expire) }),
      ...(req.payer && { payerOpenid: req.payer.openid }),
      fingerprint,
      prepayId: `wx${stamp()}${randomBytes(10).toString('hex')}`,
      payToken: randomBytes(12).toString('base64url'),
      closed: false,
    };
    this.trades.set(key(mchId, trade.outTradeNo), trade);
    this.byToken.set(trade.payToken, trade);
    return trade;
  }

  /** Every trade and refund, in the order they were made (the statements' source). */
  allTrades(): SandboxTrade[] {
    return [...this.trades.values()];
  }

  allRefunds(): SandboxRefund[] {
    return [...this.refunds.values()];
  }

  find(mchId: string, outTradeNo: string): SandboxTrade | undefined {
    return this.trades.get(key(mchId, outTradeNo));
  }

  get(mchId: string, outTradeNo: string): SandboxTrade {
    const trade = this.find(mchId, outTradeNo);
    if (!trade) throw new SandboxRejection(404, 'ORDER_NOT_EXIST', '订单不存在');
    return trade;
  }

  byTransactionId(mchId: string, transactionId: string): SandboxTrade | undefined {
    for (const t of this.trades.values()) if (t.mchId === mchId && t.transactionId === transactionId) return t;
    return undefined;
  }

  byPayToken(token: string): SandboxTrade | undefined {
    return this.byToken.get(token);
  }

  /** For test hooks, which name only the out_trade_no: the one trade with it, of whichever merchant. */
  findAny(outTradeNo: string): SandboxTrade | undefined {
    const found = [...this.trades.values()].filter((t) => t.outTradeNo === outTradeNo);
    if (found.length > 1) throw new Error(`out_trade_no ${outTradeNo} exists for several merchants`);
    return found[0];
  }

  /** An unpaid trade past its time_expire reads as CLOSED; a declined one stays PAYERROR. */
  state(trade: SandboxTrade, now = new Date()): WechatTradeState {
    if (trade.paidAt) return this.committedRefunds(trade) > 0n ? 'REFUND' : 'SUCCESS';
    if (trade.declined) return 'PAYERROR';
    return trade.closed || (trade.timeExpire !== undefined && now > trade.timeExpire) ? 'CLOSED' : 'NOTPAY';
  }

  /** The buyer's payment of an unpaid, open trade is declined: PAYERROR from now on. */
  decline(trade: SandboxTrade): void {
    if (this.state(trade) !== 'NOTPAY') throw new SandboxRejection(400, 'ORDER_CLOSED', `trade is ${this.state(trade)}`);
    trade.declined = true;
  }

  close(mchId: string, outTradeNo: string): void {
    const trade = this.get(mchId, outTradeNo);
    if (trade.paidAt) throw new SandboxRejection(400, 'ORDERPAID', '订单已支付');
    trade.closed = true;
  }

  /**
   * Marks the trade paid; `newlyPaid` is false when it already was. A closed or declined trade is paid only if
   * allowed.
   */
  pay(trade: SandboxTrade, allowClosed: () => boolean): boolean {
    if (trade.paidAt) return false;
    const state = this.state(trade);
    if ((state === 'CLOSED' || state === 'PAYERROR') && !allowClosed()) {
      throw new SandboxRejection(400, 'ORDER_CLOSED', state === 'CLOSED' ? 'trade is closed' : 'trade is declined (PAYERROR)');
    }
    trade.paidAt = new Date();
    trade.transactionId = `4200${randomDigits(24)}`;
    trade.payerOpenid ??= `oSandbox${randomBytes(10).toString('base64url')}`;
    return true;
  }

  /** Idempotent on out_refund_no; `created` is false when the same refund already existed. */
  createRefund(mchId: string, req: RefundRequest): { refund: SandboxRefund; created: boolean } {
    const trade = req.out_trade_no ? this.find(mchId, req.out_trade_no) : this.byTransactionId(mchId, req.transaction_id ?? '');
    const existing = this.refunds.get(key(mchId, req.out_refund_no));
    if (existing) {
      if (existing.outTradeNo !== trade?.outTradeNo || existing.amount !== req.amount.refund) {
        throw new SandboxRejection(400, 'INVALID_REQUEST', 'out_refund_no used for another refund');
      }
      return { refund: existing, created: false };
    }
    if (!trade) throw new SandboxRejection(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    if (!trade.paidAt) throw new SandboxRejection(400, 'INVALID_REQUEST', '订单未支付');
    if (req.amount.total !== trade.total) throw new SandboxRejection(400, 'INVALID_REQUEST', '订单金额与原订单不一致');
    if (req.amount.refund > trade.total - this.committedRefunds(trade)) {
      throw new SandboxRejection(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    }
    const refund: SandboxRefund = {
      mchId,
      outRefundNo: req.out_refund_no,
      outTradeNo: trade.outTradeNo,
      refundId: `50${randomDigits(30)}`,
      amount: req.amount.refund,
      reason: req.reason ?? '',
      notifyUrl: req.notify_url ?? trade.notifyUrl,
      status: 'PROCESSING',
      createdAt: new Date(),
    };
    this.refunds.set(key(mchId, refund.outRefundNo), refund);
    return { refund, created: true };
  }

  refund(mchId: string, outRefundNo: string): SandboxRefund {
    const refund = this.refunds.get(key(mchId, outRefundNo));
    if (!refund) throw new SandboxRejection(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    return refund;
  }

  findRefundAny(outRefundNo: string): SandboxRefund | undefined {
    return [...this.refunds.values()].find((r) => r.outRefundNo === outRefundNo);
  }

  /** PROCESSING (or ABNORMAL, which is not final) → status; false if the refund was already final. */
  settleRefund(refund: SandboxRefund, status: Exclude<WechatRefundStatus, 'PROCESSING'>): boolean {
    if (refund.status !== 'PROCESSING' && refund.status !== 'ABNORMAL') return false;
    if (refund.status === status) return false;
    refund.status = status;
    if (status === 'SUCCESS') refund.successAt = new Date();
    return true;
  }

  tradeOf(refund: SandboxRefund): SandboxTrade {
    return this.get(refund.mchId, refund.outTradeNo);
  }

  /** The Transaction object, as query answers and payment notifies carry it. */
  transactionJson(trade: SandboxTrade, shift = 0n): Record<string, unknown> {
    const state = this.state(trade);
    const total = Number(trade.total + shift);
    const paid = trade.paidAt !== undefined;
    return {
      appid: trade.appId,
      mchid: trade.mchId,
      out_trade_no: trade.outTradeNo,
      ...(paid && { transaction_id: trade.transactionId, trade_type: trade.tradeType, bank_type: 'OTHERS' }),
      trade_state: state,
      trade_state_desc: STATE_DESC[state],
      attach: trade.attach,
      ...(paid && { success_time: beijingTime(trade.paidAt as Date), payer: { openid: trade.payerOpenid } }),
      amount: paid ? { total, payer_total: total, currency: 'CNY', payer_currency: 'CNY' } : { total, currency: 'CNY' },
      promotion_detail: [],
    };
  }

  refundJson(r: SandboxRefund): Record<string, unknown> {
    const total = Number(this.tradeOf(r).total);
    const refund = Number(r.amount);
    return {
      refund_id: r.refundId,
      out_refund_no: r.outRefundNo,
      transaction_id: this.tradeOf(r).transactionId,
      out_trade_no: r.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(r.successAt && { success_time: beijingTime(r.successAt) }),
      create_time: beijingTime(r.createdAt),
      status: r.status,
      funds_account: 'AVAILABLE',
      amount: {
        total,
        refund,
        payer_total: total,
        payer_refund: refund,
        settlement_total: total,
        settlement_refund: refund,
        discount_refund: 0,
        currency: 'CNY',
        from: [],
      },
      promotion_detail: [],
    };
  }

  /** What has actually been refunded: successful refunds only. */
  refundedTotal(trade: SandboxTrade): bigint {
    return this.sumRefunds(trade, ['SUCCESS']);
  }

  /** Refunds that did not fail count against the paid amount, including those processing or abnormal. */
  private committedRefunds(trade: SandboxTrade): bigint {
    return this.sumRefunds(trade, ['PROCESSING', 'SUCCESS', 'ABNORMAL']);
  }

  private sumRefunds(trade: SandboxTrade, statuses: readonly WechatRefundStatus[]): bigint {
    let total = 0n;
    for (const r of this.refunds.values()) {
      const ofTrade = r.mchId === trade.mchId && r.outTradeNo === trade.outTradeNo;
      if (ofTrade && statuses.includes(r.status)) total += r.amount;
    }
    return total;
  }
}

const STATE_DESC: Readonly<Record<WechatTradeState, string>> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '订单未支付',
  USERPAYING: '用户支付中',
  CLOSED: '订单已关闭',
  REVOKED: '已撤销',
  PAYERROR: '支付失败',
};

const key = (mchId: string, no: string) => `${mchId}\u0000${no}`;
const stamp = () =>
  new Date()
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14);
