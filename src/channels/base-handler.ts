import type {
  ChannelAccount,
  ChannelCall,
  CloseResult,
  NotifyAck,
  NotifyVerification,
  PayOrderHandler,
  PayWayCode,
  PrepayInput,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  TradeStatus,
  VerifiedNotify,
} from './types';

/** What a channel reported about whose trade it is; the base checks it against the local order and account. */
export interface TradeIdentity {
  outTradeNo?: string;
  appId?: string;
  merchantId?: string;
}

export type ChannelTradeAnswer = TradeStatus & TradeIdentity;

/** A close as the channel answered it; 'paid' is confirmed by a query in the base, never taken on its word. */
export type ChannelCloseAnswer = { outcome: 'closed' } | { outcome: 'paid' } | { outcome: 'unknown'; reason: string };

export type ChannelNotify = { notify: VerifiedNotify; identity: TradeIdentity } | { invalid: string };

/**
 * The seeds' AbstractPayOrderHandler: the public methods are the fixed flow every channel goes through, so no
 * channel can skip it. It resolves the tenant's account, cross-checks every channel answer and notify against the
 * local trade and account (out_trade_no, app id, merchant id, amount, currency), and turns every thrown error
 * (timeout, network, bad signature, SDK failure) into 'unknown', never 'fail'. Subclasses speak the protocol.
 */
export abstract class AbstractPayOrderHandler<A extends ChannelAccount> implements PayOrderHandler {
  abstract readonly payWay: PayWayCode;
  abstract readonly channel: A['channel'];
  abstract readonly supportsQr: boolean;
  readonly supportsRefund: boolean = true;
  readonly requiredInputs: readonly PrepayInput[] = [];

  protected abstract doPrepay(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<PrepayResult>;
  protected abstract doQuery(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<ChannelTradeAnswer>;
  protected abstract doClose(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<ChannelCloseAnswer>;
  protected abstract doRefund(refund: RefundSnapshot, account: A, signal?: AbortSignal): Promise<RefundStatusResult>;
  protected abstract doQueryRefund(refund: RefundSnapshot, account: A, signal?: AbortSignal): Promise<RefundStatusResult>;
  /** Verify the signature over the raw bytes, then parse; a bad signature is `{ invalid }`, never a throw. */
  protected abstract doVerifyNotify(notify: RawNotify, account: A): Promise<ChannelNotify>;
  abstract ackNotify(accepted: boolean, reason?: string): NotifyAck;
  /** The out_trade_no an unverifiable notify names, best effort, so a status query can still find a payment. */
  protected notifyHint(_notify: RawNotify, _account: A): string | undefined {
    return undefined;
  }

  async prepay(trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult> {
    return this.guard(
      () => this.doPrepay(trade, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', reason }),
    );
  }

  async query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus> {
    return this.guard(
      async () => {
        const account = this.account(call);
        return this.checked(trade, account, await this.doQuery(trade, account, call.signal));
      },
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult> {
    const answer = await this.guard<ChannelCloseAnswer>(
      () => this.doClose(trade, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', reason }),
    );
    if (answer.outcome !== 'paid') return answer;
    const status = await this.query(trade, call);
    if (status.outcome === 'success') return { outcome: 'paid', status };
    return { outcome: 'unknown', reason: `close refused as paid, but the query said ${status.outcome}: ${status.reason ?? status.channelStatus}` };
  }

  async refund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.guard(
      () => this.doRefund(refund, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.guard(
      () => this.doQueryRefund(refund, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification> {
    if (!account || account.channel !== this.channel) {
      return { valid: false, reason: `tenant ${notify.tenantId} has no ${this.channel} account` };
    }
    const own = account as A;
    const r = await this.guard<ChannelNotify>(
      () => this.doVerifyNotify(notify, own),
      (reason) => ({ invalid: reason }),
    );
    const hint = () => this.guardSync(() => this.notifyHint(notify, own));
    if ('invalid' in r) return { valid: false, reason: r.invalid, attemptNo: hint() };
    const wrong = identityProblems(r.identity, own);
    if (wrong.length > 0) {
      return { valid: false, reason: `notify for another merchant: ${wrong.join('; ')}`, attemptNo: r.notify.attemptNo };
    }
    return { valid: true, notify: r.notify };
  }

  /** The tenant's account for this channel; its absence is a configuration error the caller sees as unknown. */
  protected account(call: ChannelCall): A {
    if (!call.account || call.account.channel !== this.channel) {
      throw new Error(`no ${this.channel} account for this tenant`);
    }
    return call.account as A;
  }

  /** A channel answer about another trade, merchant or amount is not an answer: 'unknown', with why. */
  protected checked(trade: TradeSnapshot, account: A, answer: ChannelTradeAnswer): TradeStatus {
    const problems = identityProblems(answer, account);
    if (answer.outTradeNo !== undefined && answer.outTradeNo !== trade.attemptNo) {
      problems.push(`out_trade_no ${answer.outTradeNo} is not ${trade.attemptNo}`);
    }
    if (answer.outcome === 'success' && answer.paidAmount !== undefined && answer.paidAmount !== trade.amount) {
      problems.push(`paid amount ${answer.paidAmount} is not ${trade.amount}`);
    }
    if (answer.currency !== undefined && answer.currency !== trade.currency) {
      problems.push(`currency ${answer.currency} is not ${trade.currency}`);
    }
    const { outTradeNo: _o, appId: _a, merchantId: _m, ...status } = answer;
    if (problems.length === 0) return status;
    return { outcome: 'unknown', channelStatus: answer.channelStatus, reason: `integrity check failed: ${problems.join('; ')}` };
  }

  private guardSync(fn: () => string | undefined): string | undefined {
    try {
      return fn();
    } catch {
      return undefined;
    }
  }

  private async guard<T>(fn: () => Promise<T>, onError: (reason: string) => T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      return onError(describe(err));
    }
  }
}

function identityProblems(id: TradeIdentity, account: ChannelAccount): string[] {
  const problems: string[] = [];
  if (id.appId !== undefined && id.appId !== account.appId) problems.push(`app id ${id.appId} is not ${account.appId}`);
  const merchant = account.channel === 'alipay' ? account.sellerId : account.mchId;
  if (id.merchantId !== undefined && merchant !== '' && id.merchantId !== merchant) {
    problems.push(`merchant ${id.merchantId} is not ${merchant}`);
  }
  return problems;
}

/** A short reason for the logs and the caller: never a stack, never key material. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'AbortError' || err.name === 'TimeoutError') return `no answer in time (${err.message})`;
    return err.message.slice(0, 300);
  }
  return String(err).slice(0, 300);
}
