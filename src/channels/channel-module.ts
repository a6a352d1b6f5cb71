import type { z } from 'zod';
import type { StatementSource } from '../reconcile/download';
import type {
  ChannelAccount,
  ChannelSaid,
  NotifyAck,
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

/** What a channel reported about whose trade it is; the guard checks it against the local order and account. */
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

/** A close as the channel answered it; 'paid' is confirmed by a query in the guard, never taken on its word. */
export type ChannelCloseAnswer = ({ outcome: 'closed' } | { outcome: 'paid' } | { outcome: 'unknown'; reason: string }) & {
  said?: ChannelSaid;
};

export type ChannelNotify = { notify: VerifiedNotify; identity: TradeIdentity } | { invalid: string };

/**
 * A channel's protocol, and nothing else: what it says about trades, refunds and notifies, in its own terms.
 * One per channel, shared by all its pay ways. It may throw on anything unexpected (timeout, bad signature,
 * malformed answer): the guard turns that into 'unknown'. It never resolves accounts or checks identity; the
 * guard does both for every channel alike.
 */
export interface ChannelAdapter<A extends ChannelAccount> {
  query(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<ChannelTradeAnswer>;
  close(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<ChannelCloseAnswer>;
  /** `payWay`: the pay way the trade was paid with, for a channel whose refund request names it (WeChat's notify URL). */
  refund(refund: RefundSnapshot, account: A, signal?: AbortSignal, payWay?: PayWayCode): Promise<RefundStatusResult>;
  queryRefund(refund: RefundSnapshot, account: A, signal?: AbortSignal): Promise<RefundStatusResult>;
  /** Verify the signature over the raw bytes, then parse; a bad signature is `{ invalid }`. */
  verifyNotify(notify: RawNotify, account: A): Promise<ChannelNotify>;
  /** The out_trade_no an unverifiable notify names, best effort, so a status query can still find a payment. */
  notifyHint?(notify: RawNotify, account: A): string | undefined;
  /** How to answer the channel's HTTP notify; the reason may or may not be sent, as the channel's dialect has it. */
  ackNotify(accepted: boolean, reason?: string): NotifyAck;
}

/** How one pay way starts a payment: the only capability that differs between a channel's pay ways. */
export interface PrepayStrategy<A extends ChannelAccount> {
  prepay(trade: TradeSnapshot, account: A, signal?: AbortSignal): Promise<PrepayResult>;
}

/** One catalog entry: what a pay way is, whatever tenant uses it. The fee is a default a tenant may override. */
export interface PayWaySpec {
  code: PayWayCode;
  name: string;
  defaultFeeRateBps: number;
  /** Its number on the wire (proto PayWay); a number outside the proto enum still travels as itself. */
  protoNumber: number;
  /** What it cannot prepay without; Prepay refuses a request lacking one before it writes anything. */
  requiredInputs: readonly PrepayInput[];
  supportsQr: boolean;
  supportsRefund: boolean;
}

/** What a module's factory gets from the deployment. */
export interface ChannelDeps {
  /** Per-call limit; the call's own signal may end it sooner. */
  timeoutMs: number;
}

/** A module's working parts: one adapter for the channel, one prepay strategy per pay way code. */
export interface ChannelParts<A extends ChannelAccount> {
  adapter: ChannelAdapter<A>;
  prepay: Readonly<Record<PayWayCode, PrepayStrategy<A>>>;
  /** Downloads the channel's daily statement; absent for a channel that publishes none (the mock). */
  statements?: StatementSource<A>;
}

/**
 * Everything the core knows about a channel, exported by its folder. The registry, the catalog, the sidecar's
 * notify routes, the account store and bootstrap all derive from the list of modules (src/channels/index.ts);
 * nothing outside a channel's folder names it.
 */
export interface ChannelModule<A extends ChannelAccount = ChannelAccount> {
  /** As stored on attempts, accounts and notify records. */
  name: string;
  notify: {
    /** The URL segment of its notifies: /notify/<pathSegment>/<tenantId>/<terminalType>. */
    pathSegment: string;
    /** The body type its notifies come as; the raw bytes are kept for the signature, anything else is 415. */
    contentType: string;
    /** The largest notify body it sends, with room to spare; larger ones get 413 unread. */
    maxBodyBytes: number;
    /** The headers a notify record keeps besides content-type and user-agent. */
    keptHeaders: RegExp;
    /** Lower-case names of the headers its verification reads; a notify repeating one is refused unread. */
    signatureHeaders: readonly string[];
  };
  account: {
    /** What an operator registers (with `channel` set to the module's name). */
    schema: z.ZodType<A>;
    /** Fields sealed at rest (src/infra/secret-box.ts); the rest is stored in the clear. */
    secretFields: readonly (keyof A & string)[];
    /** The app id and merchant answers and notifies must name ('' where the account has none to check). */
    identity(account: A): { appId: string; merchantId: string };
    /**
     * Without an account here a tenant simply does not have this channel (its pay ways are switched off for it),
     * rather than being misconfigured.
     */
    absentMeansOff?: boolean;
  };
  /** Which identity fields each kind of its messages carries; the guard checks them all. */
  carriedIdentity: CarriedIdentity;
  payWays: readonly PayWaySpec[];
  create(deps: ChannelDeps): ChannelParts<A>;
}

/** Declares a module with its account type checked; the registry takes any module. */
export function defineChannel<A extends ChannelAccount>(module: ChannelModule<A>): ChannelModule {
  return module as unknown as ChannelModule;
}
