import type {
  ChannelAccount,
  ChannelCall,
  ChannelName,
  CloseResult,
  NotifyAck,
  NotifyVerification,
  PayOrderHandler,
  PayWayCode,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  TradeStatus,
} from './types';
import { HandlerFacts } from './pay-way-facts';

export type ChannelOperation = 'prepay' | 'query' | 'close' | 'refund' | 'query_refund';

/** One finished call to a channel; `outcome` is the result's kind (success, fail, pending, unknown, closed, paid). */
export interface ChannelCallRecord {
  channel: ChannelName;
  payWay: PayWayCode;
  operation: ChannelOperation;
  outcome: string;
  seconds: number;
}

export type ChannelCallObserver = (record: ChannelCallRecord) => void;

/**
 * A handler whose channel calls are timed and reported to `observe` (the metrics), whatever channel it speaks.
 * It wraps the public methods only, so it sees exactly what the core sees; notify verification is local work
 * and passes straight through. A handler that throws despite its contract is reported as 'error' and rethrown.
 */
export class ObservedHandler extends HandlerFacts implements PayOrderHandler {
  constructor(
    private readonly inner: PayOrderHandler,
    private readonly observe: ChannelCallObserver,
  ) {
    super(inner);
  }

  prepay(trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult> {
    return this.timed('prepay', () => this.inner.prepay(trade, call));
  }

  query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus> {
    return this.timed('query', () => this.inner.query(trade, call));
  }

  close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult> {
    return this.timed('close', () => this.inner.close(trade, call));
  }

  refund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.timed('refund', () => this.inner.refund(refund, call));
  }

  queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.timed('query_refund', () => this.inner.queryRefund(refund, call));
  }

  verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification> {
    return this.inner.verifyNotify(notify, account);
  }

  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    return this.inner.ackNotify(accepted, reason);
  }

  private async timed<T extends { outcome: string }>(operation: ChannelOperation, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const report = (outcome: string) =>
      this.observe({
        channel: this.channel,
        payWay: this.payWay,
        operation,
        outcome,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    try {
      const result = await fn();
      report(result.outcome);
      return result;
    } catch (err) {
      report('error');
      throw err;
    }
  }
}
