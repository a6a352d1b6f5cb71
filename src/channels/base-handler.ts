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

export type IdentityField = keyof TradeIdentity;

/**
 * Which identity fields each kind of message carries by the channel's protocol. Missing is not matching: a
 * field its kind carries that a message lacks fails the check, exactly as a wrong value does.
 */
export interface CarriedIdentity {
  paymentNotify: readonly IdentityField[];
  refundNotify: readonly IdentityField[];
  query: readonly IdentityField[];
}

/** `fromError`: the channel answered with an error (no trade in it), so there is no identity to check. */
export type ChannelTradeAnswer = TradeStatus & TradeIdentity & { fromError?: true };

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
  abstract readonly notifySignatureHeaders: readonly string[];
  protected abstract readonly carriedIdentity: CarriedIdentity;

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
    const carried = r.notify.kind === 'payment' ? this.carriedIdentity.paymentNotify : this.carriedIdentity.refundNotify;
    const wrong = identityProblems(r.identity, own, carried);
    if (carried.includes('outTradeNo') && r.identity.outTradeNo !== r.notify.attemptNo) {
      wrong.push(`out_trade_no ${r.identity.outTradeNo ?? '(missing)'} is not ${r.notify.attemptNo}`);
    }
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

  /**
   * A channel answer about another trade, merchant or amount is not an answer: 'unknown', with why. Only an
   * answer that names the trade (and, for a payment, its amount and currency) can say anything about it.
   * An error answer (no trade in it) carries nothing to check and is never success.
   */
  protected checked(trade: TradeSnapshot, account: A, answer: ChannelTradeAnswer): TradeStatus {
    const carried = answer.fromError ? [] : this.carriedIdentity.query;
    const problems = identityProblems(answer, account, carried);
    if (answer.fromError && answer.outcome === 'success') problems.push('an error answer cannot report a payment');
    if (carried.includes('outTradeNo') && answer.outTradeNo !== trade.attemptNo) {
      problems.push(`out_trade_no ${answer.outTradeNo ?? '(missing)'} is not ${trade.attemptNo}`);
    }
    if (answer.outcome === 'success' && answer.paidAmount !== trade.amount) {
      problems.push(`paid amount ${answer.paidAmount ?? '(missing)'} is not ${trade.amount}`);
    }
    if ((answer.outcome === 'success' || answer.currency !== undefined) && answer.currency !== trade.currency) {
      problems.push(`currency ${answer.currency ?? '(missing)'} is not ${trade.currency}`);
    }
    const { outTradeNo: _o, appId: _a, merchantId: _m, fromError: _e, ...status } = answer;
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

/**
 * App id and merchant against the account: checked when the message kind carries them (then absent is wrong),
 * and whenever a message names one anyway. An Alipay account registered without a seller id has no merchant to
 * check against.
 */
function identityProblems(id: TradeIdentity, account: ChannelAccount, carried: readonly IdentityField[]): string[] {
  const problems: string[] = [];
  if ((carried.includes('appId') || id.appId !== undefined) && id.appId !== account.appId) {
    problems.push(`app id ${id.appId ?? '(missing)'} is not ${account.appId}`);
  }
  const merchant = account.channel === 'alipay' ? account.sellerId : account.mchId;
  if (merchant !== '' && (carried.includes('merchantId') || id.merchantId !== undefined) && id.merchantId !== merchant) {
    problems.push(`merchant ${id.merchantId ?? '(missing)'} is not ${merchant}`);
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
