import { beijingTime } from '../../src/channels/alipay/time';
import { randomDigits } from '../kit/keys';
import { businessFailure } from './rejection';

export type SandboxTradeKind = 'app' | 'wap' | 'page' | 'precreate';
export type SandboxTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';

export interface SandboxRefund {
  outRequestNo: string;
  amount: bigint;
  at: Date;
}

export interface SandboxTrade {
  outTradeNo: string;
  tradeNo: string;
  appId: string;
  sellerId: string;
  kind: SandboxTradeKind;
  amount: bigint;
  subject: string;
  notifyUrl?: string;
  returnUrl?: string;
  passbackParams?: string;
  expireAt?: Date;
  createdAt: Date;
  /** A precreate trade exists for the API only once its QR code is scanned; the others at once. */
  scanned: boolean;
  closed: boolean;
  closedAt?: Date;
  paidAt?: Date;
  buyerId: string;
  buyerLogonId: string;
  refunds: Map<string, SandboxRefund>;
}

export type NewTrade = Pick<
  SandboxTrade,
  'outTradeNo' | 'appId' | 'sellerId' | 'kind' | 'amount' | 'subject' | 'notifyUrl' | 'returnUrl' | 'passbackParams' | 'expireAt'
>;

/**
 * The sandbox's books, in memory: (not exist) → WAIT_BUYER_PAY → TRADE_SUCCESS → TRADE_CLOSED on full refund;
 * WAIT_BUYER_PAY → TRADE_CLOSED on close or once time_expire has passed. Refunds are kept per out_request_no.
 */
export class TradeBook {
  private readonly trades = new Map<string, SandboxTrade>();

  /** Creates the trade, or returns it when the same order is submitted again while still payable. */
  open(n: NewTrade, now = new Date()): SandboxTrade {
    const existing = this.trades.get(n.outTradeNo);
    if (existing) {
      if (existing.appId !== n.appId || existing.amount !== n.amount || existing.subject !== n.subject) {
        throw businessFailure('ACQ.CONTEXT_INCONSISTENT', 'out_trade_no was used for another order');
      }
      const status = this.status(existing, now);
      if (existing.paidAt) throw businessFailure('ACQ.TRADE_HAS_SUCCESS', 'trade is paid');
      if (status === 'TRADE_CLOSED') throw businessFailure('ACQ.TRADE_HAS_CLOSE', 'trade is closed');
      return existing;
    }
    const trade: SandboxTrade = {
      ...n,
      tradeNo: `${beijingTime(now).slice(0, 10).replaceAll('-', '')}2200${randomDigits(16)}`,
      createdAt: now,
      scanned: n.kind !== 'precreate',
      closed: false,
      buyerId: `2088${randomDigits(12)}`,
      buyerLogonId: `buy***@sandbox.test`,
      refunds: new Map(),
    };
    this.trades.set(trade.outTradeNo, trade);
    return trade;
  }

  /** Every trade, in the order they were opened (the statement's source). */
  all(): SandboxTrade[] {
    return [...this.trades.values()];
  }

  /** Any trade the sandbox knows, scanned or not (test hooks). */
  find(outTradeNo: string): SandboxTrade | undefined {
    return this.trades.get(outTradeNo);
  }

  /** The trade as the API sees it: existing, of this app, and (for precreate) scanned; else ACQ.TRADE_NOT_EXIST. */
  visible(appId: string, ref: { outTradeNo?: string; tradeNo?: string }): SandboxTrade {
    const trade = ref.tradeNo ? [...this.trades.values()].find((t) => t.tradeNo === ref.tradeNo) : this.trades.get(ref.outTradeNo ?? '');
    if (!trade || trade.appId !== appId || !trade.scanned) throw businessFailure('ACQ.TRADE_NOT_EXIST', 'trade does not exist');
    return trade;
  }

  status(trade: SandboxTrade, now = new Date()): SandboxTradeStatus {
    if (trade.paidAt) return this.refundedTotal(trade) >= trade.amount ? 'TRADE_CLOSED' : 'TRADE_SUCCESS';
    return trade.closed || (trade.expireAt !== undefined && now > trade.expireAt) ? 'TRADE_CLOSED' : 'WAIT_BUYER_PAY';
  }

  scan(outTradeNo: string, now = new Date()): SandboxTrade {
    const trade = this.known(outTradeNo);
    if (!trade.paidAt && this.status(trade, now) === 'TRADE_CLOSED') throw businessFailure('ACQ.TRADE_HAS_CLOSE', 'trade is closed');
    trade.scanned = true;
    return trade;
  }

  /** The buyer pays. `force` pays a closed trade anyway (the hostile "success after close"). */
  pay(outTradeNo: string, force = false, now = new Date()): { trade: SandboxTrade; newlyPaid: boolean } {
    const trade = this.known(outTradeNo);
    if (trade.paidAt) return { trade, newlyPaid: false };
    if (!force && this.status(trade, now) === 'TRADE_CLOSED') throw businessFailure('ACQ.TRADE_HAS_CLOSE', 'trade is closed');
    trade.scanned = true;
    trade.paidAt = now;
    return { trade, newlyPaid: true };
  }

  /** An unscanned precreate answers TRADE_NOT_EXIST, and cannot be scanned afterwards. */
  close(appId: string, ref: { outTradeNo?: string; tradeNo?: string }, now = new Date()): SandboxTrade {
    const unscanned = ref.outTradeNo ? this.trades.get(ref.outTradeNo) : undefined;
    if (unscanned && unscanned.appId === appId && !unscanned.scanned) {
      unscanned.closed = true;
      unscanned.closedAt = now;
    }
    const trade = this.visible(appId, ref);
    if (trade.paidAt) {
      if (this.status(trade, now) === 'TRADE_CLOSED') throw businessFailure('ACQ.TRADE_STATUS_ERROR', 'trade was refunded in full');
      throw businessFailure('ACQ.TRADE_HAS_SUCCESS', 'trade is paid');
    }
    if (this.status(trade, now) === 'TRADE_CLOSED') throw businessFailure('ACQ.TRADE_HAS_CLOSE', 'trade is already closed');
    trade.closed = true;
    trade.closedAt = now;
    return trade;
  }

  /** Idempotent per out_request_no: a repeat with the same amount returns the first refund, `created` false. */
  refund(trade: SandboxTrade, outRequestNo: string, amount: bigint, now = new Date()): { refund: SandboxRefund; created: boolean } {
    const existing = trade.refunds.get(outRequestNo);
    if (existing) {
      if (existing.amount !== amount)
        throw businessFailure('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'out_request_no was used with another amount');
      return { refund: existing, created: false };
    }
    if (!trade.paidAt) throw businessFailure('ACQ.TRADE_STATUS_ERROR', 'trade is not paid');
    if (amount > trade.amount - this.refundedTotal(trade)) {
      throw businessFailure('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'refund amount exceeds what is left to refund');
    }
    const refund: SandboxRefund = { outRequestNo, amount, at: now };
    trade.refunds.set(outRequestNo, refund);
    return { refund, created: true };
  }

  refundedTotal(trade: SandboxTrade): bigint {
    let total = 0n;
    for (const r of trade.refunds.values()) total += r.amount;
    return total;
  }

  private known(outTradeNo: string): SandboxTrade {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw businessFailure('ACQ.TRADE_NOT_EXIST', `the sandbox has no trade ${outTradeNo}`);
    return trade;
  }
}
