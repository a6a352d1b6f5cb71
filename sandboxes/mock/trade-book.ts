import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { SandboxRejection } from '../kit/http';
import type {
  createRefundRequest,
  createTradeRequest,
  MockErrorCode,
  MockRefundStatus,
  MockTradeStatus,
  RefundJson,
  TradeJson,
} from '../../src/channels/mock/wire';

/** A request the mock channel refuses; the gateway turns it into `{code, message}` with this HTTP status. */
export class GatewayRejection extends SandboxRejection<MockErrorCode> {}

export interface MockTrade {
  mchId: string;
  outTradeNo: string;
  tradeNo: string;
  amount: bigint;
  currency: string;
  subject: string;
  notifyUrl: string;
  expireAt: Date;
  closed: boolean;
  paidAt?: Date;
  /** Who paid: an opaque id, as a channel names its buyer (an openid). */
  payerId?: string;
}

export interface MockRefund {
  outRefundNo: string;
  outTradeNo: string;
  refundId: string;
  amount: bigint;
  status: MockRefundStatus;
}

/** The mock channel's books: trades keyed by out_trade_no, refunds by out_refund_no, all in memory. */
export class TradeBook {
  private readonly trades = new Map<string, MockTrade>();
  private readonly refunds = new Map<string, MockRefund>();

  /** Idempotent on out_trade_no while the trade is open or paid; a closed one is never reopened (like WeChat, Alipay). */
  createTrade(req: z.infer<typeof createTradeRequest>): MockTrade {
    const existing = this.trades.get(req.out_trade_no);
    if (existing) {
      if (existing.amount !== req.amount || existing.mchId !== req.mch_id) {
        throw new GatewayRejection(409, 'OUT_TRADE_NO_USED', 'out_trade_no already used with another amount or merchant');
      }
      if (this.status(existing) === 'CLOSED') throw new GatewayRejection(409, 'TRADE_CLOSED', 'trade is closed');
      return existing;
    }
    if (req.amount <= 0n) throw new GatewayRejection(400, 'PARAM_ERROR', 'amount must be positive');
    const trade: MockTrade = {
      mchId: req.mch_id,
      outTradeNo: req.out_trade_no,
      tradeNo: newId('MT'),
      amount: req.amount,
      currency: req.currency,
      subject: req.subject,
      notifyUrl: req.notify_url,
      expireAt: new Date(req.expire_at),
      closed: false,
    };
    this.trades.set(trade.outTradeNo, trade);
    return trade;
  }

  find(outTradeNo: string): MockTrade | undefined {
    return this.trades.get(outTradeNo);
  }

  trade(outTradeNo: string): MockTrade {
    const trade = this.find(outTradeNo);
    if (!trade) throw new GatewayRejection(404, 'TRADE_NOT_EXIST', 'trade does not exist');
    return trade;
  }

  /** An unpaid trade past its expiry reads as CLOSED, like a channel that closes expired trades itself. */
  status(trade: MockTrade, now = new Date()): MockTradeStatus {
    if (trade.paidAt) return this.committedRefunds(trade.outTradeNo) > 0n ? 'REFUND' : 'SUCCESS';
    return trade.closed || now > trade.expireAt ? 'CLOSED' : 'NOTPAY';
  }

  close(outTradeNo: string): void {
    const trade = this.trade(outTradeNo);
    if (trade.paidAt) throw new GatewayRejection(409, 'TRADE_PAID', 'trade is paid');
    trade.closed = true;
  }

  /** Marks the trade paid; `newlyPaid` is false when it already was. */
  pay(outTradeNo: string, { evenIfClosed = false } = {}): { trade: MockTrade; newlyPaid: boolean } {
    const trade = this.trade(outTradeNo);
    if (trade.paidAt) return { trade, newlyPaid: false };
    if (this.status(trade) === 'CLOSED' && !evenIfClosed) throw new GatewayRejection(409, 'TRADE_CLOSED', 'trade is closed');
    trade.paidAt = new Date();
    trade.payerId = newId('MB');
    return { trade, newlyPaid: true };
  }

  /** Idempotent on out_refund_no; `created` is false when the refund already existed. */
  createRefund(req: z.infer<typeof createRefundRequest>): { refund: MockRefund; created: boolean } {
    const existing = this.refunds.get(req.out_refund_no);
    if (existing) {
      if (existing.outTradeNo !== req.out_trade_no || existing.amount !== req.amount) {
        throw new GatewayRejection(409, 'OUT_REFUND_NO_USED', 'out_refund_no already used for another refund');
      }
      return { refund: existing, created: false };
    }
    const trade = this.trade(req.out_trade_no);
    if (!trade.paidAt) throw new GatewayRejection(400, 'TRADE_NOT_PAID', 'trade is not paid');
    if (req.total !== trade.amount) throw new GatewayRejection(400, 'PARAM_ERROR', 'total does not match the trade');
    if (req.amount <= 0n) throw new GatewayRejection(400, 'PARAM_ERROR', 'amount must be positive');
    if (req.amount > trade.amount - this.committedRefunds(trade.outTradeNo)) {
      throw new GatewayRejection(400, 'REFUND_EXCEEDS', 'refund exceeds the remaining paid amount');
    }
    const refund: MockRefund = {
      outRefundNo: req.out_refund_no,
      outTradeNo: trade.outTradeNo,
      refundId: newId('MR'),
      amount: req.amount,
      status: 'PROCESSING',
    };
    this.refunds.set(refund.outRefundNo, refund);
    return { refund, created: true };
  }

  refund(outRefundNo: string): MockRefund {
    const refund = this.refunds.get(outRefundNo);
    if (!refund) throw new GatewayRejection(404, 'REFUND_NOT_EXIST', 'refund does not exist');
    return refund;
  }

  /** Moves a PROCESSING refund to its final status; returns false if it was already final. */
  settleRefund(outRefundNo: string, status: 'SUCCESS' | 'FAIL'): boolean {
    const refund = this.refund(outRefundNo);
    if (refund.status !== 'PROCESSING') return false;
    refund.status = status;
    return true;
  }

  tradeJson(trade: MockTrade): TradeJson {
    return {
      mch_id: trade.mchId,
      out_trade_no: trade.outTradeNo,
      trade_no: trade.tradeNo,
      status: this.status(trade),
      amount: trade.amount.toString(),
      currency: trade.currency,
      ...(trade.paidAt && { paid_at: trade.paidAt.toISOString() }),
      ...(trade.payerId && { payer_id: trade.payerId }),
    };
  }

  refundJson(refund: MockRefund): RefundJson {
    return {
      mch_id: this.trade(refund.outTradeNo).mchId,
      out_refund_no: refund.outRefundNo,
      out_trade_no: refund.outTradeNo,
      refund_id: refund.refundId,
      status: refund.status,
      amount: refund.amount.toString(),
    };
  }

  /** What the channel has actually refunded on the trade: successful refunds only. */
  refundedTotal(outTradeNo: string): bigint {
    return this.sumRefunds(outTradeNo, ['SUCCESS']);
  }

  /** Refunds that did not fail count against the paid amount, including those still processing. */
  private committedRefunds(outTradeNo: string): bigint {
    return this.sumRefunds(outTradeNo, ['PROCESSING', 'SUCCESS']);
  }

  private sumRefunds(outTradeNo: string, statuses: readonly MockRefundStatus[]): bigint {
    let total = 0n;
    for (const refund of this.refunds.values()) {
      if (refund.outTradeNo === outTradeNo && statuses.includes(refund.status)) total += refund.amount;
    }
    return total;
  }
}

function newId(prefix: string): string {
  return `${prefix}${Date.now()}${randomBytes(4).toString('hex')}`;
}
