import type {
  ChannelAdapter,
  ChannelCloseAnswer,
  ChannelModule,
  ChannelNotify,
  ChannelTradeAnswer,
  IdentityField,
  PayWaySpec,
  PrepayStrategy,
  TradeIdentity,
} from './channel-module';
import type {
  ChannelAccount,
  ChannelCall,
  ChannelNotifyPort,
  CloseResult,
  NotifyAck,
  NotifyVerification,
  PayOrderHandler,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  TradeStatus,
} from './types';
import { HandlerFacts } from './pay-way-facts';
import type { StatementSource } from '../reconcile/download';

/**
 * The template every channel goes through, by composition, so no channel can skip it: it resolves the tenant's
 * account (required, and of this channel), cross-checks every answer and notify against the local trade and the
 * account (out_trade_no, app id, merchant, amount, currency), turns every thrown error (timeout, network, bad
 * signature, SDK failure) into 'unknown', never 'fail', and confirms a close refused as paid by a query.
 */
export class GuardedChannel implements ChannelNotifyPort {
  readonly channel: string;
  readonly notifySignatureHeaders: readonly string[];
  readonly keptHeaders: RegExp;

  constructor(
    readonly module: ChannelModule,
    private readonly adapter: ChannelAdapter<ChannelAccount>,
  ) {
    this.channel = module.name;
    this.notifySignatureHeaders = module.notify.signatureHeaders;
    this.keptHeaders = module.notify.keptHeaders;
  }

  async prepay(strategy: PrepayStrategy<ChannelAccount>, trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult> {
    return guard(
      () => strategy.prepay(trade, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', reason }),
    );
  }

  async query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus> {
    return guard(
      async () => {
        const account = this.account(call);
        return this.checked(trade, account, await this.adapter.query(trade, account, call.signal));
      },
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult> {
    const answer = await guard<ChannelCloseAnswer>(
      () => this.adapter.close(trade, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', reason }),
    );
    if (answer.outcome !== 'paid') return answer;
    const status = await this.query(trade, call);
    if (status.outcome === 'success') return { outcome: 'paid', status, said: answer.said };
    return {
      outcome: 'unknown',
      reason: `close refused as paid, but the query said ${status.outcome}: ${status.reason ?? status.channelStatus}`,
      said: answer.said,
    };
  }

  async refund(refund: RefundSnapshot, call: ChannelCall, payWay?: string): Promise<RefundStatusResult> {
    return guard(
      () => this.adapter.refund(refund, this.account(call), call.signal, payWay),
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return guard(
      () => this.adapter.queryRefund(refund, this.account(call), call.signal),
      (reason) => ({ outcome: 'unknown', channelStatus: '', reason }),
    );
  }

  async verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification> {
    if (!account || account.channel !== this.channel) {
      return { valid: false, reason: `tenant ${notify.tenantId} has no ${this.channel} account` };
    }
    const r = await guard<ChannelNotify>(
      () => this.adapter.verifyNotify(notify, account),
      (reason) => ({ invalid: reason }),
    );
    const hint = () => guardSync(() => this.adapter.notifyHint?.(notify, account));
    if ('invalid' in r) return { valid: false, reason: r.invalid, attemptNo: hint() };
    const carried = r.notify.kind === 'payment' ? this.module.carriedIdentity.paymentNotify : this.module.carriedIdentity.refundNotify;
    const wrong = this.identityProblems(r.identity, account, carried);
    if (carried.includes('outTradeNo') && r.identity.outTradeNo !== r.notify.attemptNo) {
      wrong.push(`out_trade_no ${r.identity.outTradeNo ?? '(missing)'} is not ${r.notify.attemptNo}`);
    }
    if (wrong.length > 0) {
      return { valid: false, reason: `notify for another merchant: ${wrong.join('; ')}`, attemptNo: r.notify.attemptNo };
    }
    return { valid: true, notify: r.notify };
  }

  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    return this.adapter.ackNotify(accepted, reason);
  }

  /** The tenant's account for this channel; one of another channel is a configuration error, seen as unknown. */
  private account(call: ChannelCall): ChannelAccount {
    if (call.account?.channel !== this.channel) throw new Error(`no ${this.channel} account for this tenant`);
    return call.account;
  }

  /**
   * A channel answer about another trade, merchant or amount is not an answer: 'unknown', with why. Only an
   * answer that names the trade (and, for a payment, its amount and currency) can say anything about it.
   * An error answer (no trade in it) carries nothing to check and is never success.
   */
  private checked(trade: TradeSnapshot, account: ChannelAccount, answer: ChannelTradeAnswer): TradeStatus {
    const carried = answer.fromError ? [] : this.module.carriedIdentity.query;
    const problems = this.identityProblems(answer, account, carried);
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
    const reason = `integrity check failed: ${problems.join('; ')}`;
    return { outcome: 'unknown', channelStatus: answer.channelStatus, reason, ...(answer.said && { said: answer.said }) };
  }

  /**
   * App id and merchant against the account (as its module names them): checked when the message kind carries
   * them (then absent is wrong), and whenever a message names one anyway. An account without one ('') has
   * nothing to check against.
   */
  private identityProblems(id: TradeIdentity, account: ChannelAccount, carried: readonly IdentityField[]): string[] {
    const own = this.module.account.identity(account);
    const problems: string[] = [];
    if ((carried.includes('appId') || id.appId !== undefined) && id.appId !== own.appId) {
      problems.push(`app id ${id.appId ?? '(missing)'} is not ${own.appId}`);
    }
    if (own.merchantId !== '' && (carried.includes('merchantId') || id.merchantId !== undefined) && id.merchantId !== own.merchantId) {
      problems.push(`merchant ${id.merchantId ?? '(missing)'} is not ${own.merchantId}`);
    }
    return problems;
  }
}

/** One pay way as the use cases see it: its catalog facts, its prepay strategy, and its channel for the rest. */
export class PayWayHandler extends HandlerFacts implements PayOrderHandler {
  constructor(
    spec: PayWaySpec,
    private readonly strategy: PrepayStrategy<ChannelAccount>,
    private readonly via: GuardedChannel,
  ) {
    super({ ...spec, payWay: spec.code, channel: via.channel, notifySignatureHeaders: via.notifySignatureHeaders });
  }

  prepay(trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult> {
    return this.via.prepay(this.strategy, trade, call);
  }
  query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus> {
    return this.via.query(trade, call);
  }
  close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult> {
    return this.via.close(trade, call);
  }
  refund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.via.refund(refund, call, this.payWay);
  }
  queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    return this.via.queryRefund(refund, call);
  }
  verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification> {
    return this.via.verifyNotify(notify, account);
  }
  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    return this.via.ackNotify(accepted, reason);
  }
}

/** A module's guarded channel and one handler per pay way; a pay way without its strategy is a module bug. */
export function buildChannel(
  module: ChannelModule,
  deps: { timeoutMs: number },
): { channel: GuardedChannel; handlers: PayWayHandler[]; statements?: StatementSource<ChannelAccount> } {
  const parts = module.create(deps);
  const channel = new GuardedChannel(module, parts.adapter);
  const handlers = module.payWays.map((spec) => {
    const strategy = Object.hasOwn(parts.prepay, spec.code) ? parts.prepay[spec.code] : undefined;
    if (!strategy) throw new Error(`channel ${module.name} has no prepay strategy for its pay way ${spec.code}`);
    return new PayWayHandler(spec, strategy, channel);
  });
  return { channel, handlers, statements: parts.statements };
}

function guardSync(fn: () => string | undefined): string | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

async function guard<T>(fn: () => Promise<T>, onError: (reason: string) => T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return onError(describe(err));
  }
}

/** A short reason for the logs and the caller: never a stack, never key material. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'AbortError' || err.name === 'TimeoutError') return `no answer in time (${err.message})`;
    return err.message.slice(0, 300);
  }
  return String(err).slice(0, 300);
}
