/**
 * The contract between the payment core and a channel. Handlers are stateless: they get a snapshot of the
 * local order/attempt plus the tenant's channel account, talk to the channel, and return what it said.
 * Persistence is the core's job; nothing under src/channels/ touches the database.
 */

/** What a channel said about a trade or refund. Only an explicit channel answer is success or fail. */
export type Outcome = 'success' | 'fail' | 'pending' | 'unknown';

/**
 * A channel's name (as stored on attempts, accounts and notify records) and a pay way's code (as stored on orders
 * and shown in the catalog). Plain strings: which ones exist is what the channel modules in src/channels/index.ts
 * (plus any a deployment adds) say, checked through the registry and catalog.
 */
export type ChannelName = string;
export type PayWayCode = string;

/** What the caller of Prepay receives; exactly one kind per pay way. */
export type PrepayPayload =
  | { kind: 'appOrderString'; value: string }
  | { kind: 'signParams'; value: Record<string, string> }
  | { kind: 'qrCodeUrl'; value: string }
  | { kind: 'redirectUrl'; value: string }
  | { kind: 'htmlForm'; value: string }
  | { kind: 'mockPayUrl'; value: string };

/** The local view of a trade, as the channel must see it. attemptNo is the channel's out_trade_no. */
export interface TradeSnapshot {
  tenantId: string;
  payNo: string;
  attemptNo: string;
  amount: bigint;
  currency: string;
  subject: string;
  description: string;
  attach: string;
  expireAt: Date;
  clientIp: string;
  payerId: string;
  returnUrl: string;
}

export interface RefundSnapshot {
  tenantId: string;
  payNo: string;
  attemptNo: string;
  refundNo: string;
  /** The paid amount of the trade being refunded. */
  tradeAmount: bigint;
  amount: bigint;
  currency: string;
  reason: string;
}

/**
 * A tenant's account at one channel, as its module's schema describes it (each channel folder defines its own
 * shape). `channel` names the module; the secret fields are sealed at rest by the account store.
 */
export interface ChannelAccount {
  channel: ChannelName;
  /** The rest is the module's: its schema says which fields there are. */
  readonly [field: string]: unknown;
}

/** Per-call context: the tenant's account at the channel and the caller's deadline as an abort signal. */
export interface ChannelCall {
  signal?: AbortSignal;
  account: ChannelAccount;
}

/**
 * What the channel said, in its own terms, for the records support reads (src/app/channel-records.ts): the API
 * called and the channel's codes and words. Only what the answer carries in the clear: never a key, a
 * signature or a signed payload. Adapters fill what their protocol has; all of it is optional.
 */
export interface ChannelSaid {
  /** The API called: 'alipay.trade.query', 'GET /v3/pay/transactions/out-trade-no/{out_trade_no}'. */
  endpoint?: string;
  /** The HTTP status, for channels whose answers use it (WeChat Pay, mock). */
  httpStatus?: number;
  /** The channel's result or error code (Alipay code, WeChat Pay / mock error code). */
  code?: string;
  /** Alipay's sub_code. */
  subCode?: string;
  /** The channel's words (Alipay msg and sub_msg, WeChat Pay message, trade_state_desc). */
  message?: string;
  /** What the buyer paid out of pocket, where the channel says (Alipay buyer_pay_amount, WeChat Pay payer_total). */
  payerAmount?: bigint;
}

export type PrepayResult =
  | { outcome: 'success'; payload: PrepayPayload; channelTradeNo?: string; said?: ChannelSaid }
  | { outcome: 'fail' | 'unknown'; reason: string; said?: ChannelSaid };

export interface TradeStatus {
  outcome: Outcome;
  /** Channel's own status string, kept for the audit trail. */
  channelStatus: string;
  channelTradeNo?: string;
  /** What the channel says was paid, minor units; cross-checked against the order. */
  paidAmount?: bigint;
  currency?: string;
  paidAt?: Date;
  reason?: string;
  /**
   * With outcome 'fail': the channel closed the trade unpaid (it expired, or we closed it), rather than a payment
   * failing. It ends the attempt, not the order: the order closes by Cancel or its own expiry.
   */
  closedUnpaid?: boolean;
  /**
   * With outcome 'success': the channel says the payment was received and is being (or has been) refunded
   * (WeChat Pay trade_state REFUND). The core cannot tell the refund is its own unless it made one.
   */
  refundedAtChannel?: boolean;
  /** With outcome 'success': the payer's id at the channel as it reported it (openid, Alipay buyer id). */
  payerChannelId?: string;
  /** With outcome 'success': the payer's account as the channel shows it, masked where it masks (Alipay buyer_logon_id). */
  payerAccount?: string;
  said?: ChannelSaid;
}

export type CloseResult =
  | { outcome: 'closed'; said?: ChannelSaid }
  /** The channel refused to close because the trade was paid. */
  | { outcome: 'paid'; status: TradeStatus; said?: ChannelSaid }
  | { outcome: 'unknown'; reason: string; said?: ChannelSaid };

export interface RefundStatusResult {
  outcome: Outcome;
  channelStatus: string;
  channelRefundNo?: string;
  reason?: string;
  said?: ChannelSaid;
}

/** A notify as it reached the sidecar: raw body and headers, untouched. */
export interface RawNotify {
  tenantId: string;
  terminalType: string;
  headers: Record<string, string | undefined>;
  /** Lower-case names of headers that came more than once (Node joins or drops the repeats in `headers`). */
  repeatedHeaders?: readonly string[];
  rawBody: Buffer;
}

/** A notify whose signature was verified and whose content was parsed. */
export type VerifiedNotify =
  | {
      kind: 'payment';
      notifyId: string;
      attemptNo: string;
      status: TradeStatus;
    }
  | {
      kind: 'refund';
      notifyId: string;
      attemptNo: string;
      refundNo: string;
      status: RefundStatusResult;
      /** This refund's amount. A notify without it can be no more than 'pending' or 'unknown': a reason to ask. */
      amount?: bigint;
    };

export type NotifyVerification =
  | { valid: true; notify: VerifiedNotify }
  /** attemptNo, when present, is only a hint read from the untrusted body: good for a status query, nothing else. */
  | { valid: false; reason: string; attemptNo?: string };

/** How to answer the channel's HTTP notify, in its own dialect. */
export interface NotifyAck {
  status: number;
  contentType: string;
  body: string;
}

/** Prepay inputs beyond the order that a pay way may need: the payer's id at the channel, the buyer's IP. */
export type PrepayInput = 'payerId' | 'clientIp';

export interface PayOrderHandler {
  readonly payWay: PayWayCode;
  readonly channel: ChannelName;
  readonly supportsQr: boolean;
  readonly supportsRefund: boolean;
  /** What this pay way cannot prepay without; Prepay refuses a request lacking one before it writes anything. */
  readonly requiredInputs: readonly PrepayInput[];
  /** Lower-case names of the headers its notify verification reads; a notify repeating one is refused unread. */
  readonly notifySignatureHeaders: readonly string[];
  prepay(trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult>;
  query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus>;
  close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult>;
  refund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult>;
  queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult>;
  /** `account` is the tenant's account for this channel, found from the notify URL's tenant id. */
  verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification>;
  ackNotify(accepted: boolean, reason?: string): NotifyAck;
}

/** What notify handling needs of a channel: verification in its dialect, its answer, what the audit log keeps. */
export interface ChannelNotifyPort {
  readonly channel: ChannelName;
  /** Lower-case names of the headers its notify verification reads; a notify repeating one is refused unread. */
  readonly notifySignatureHeaders: readonly string[];
  /** Headers a notify record keeps (beyond content-type and user-agent). */
  readonly keptHeaders: RegExp;
  verifyNotify(notify: RawNotify, account?: ChannelAccount): Promise<NotifyVerification>;
  ackNotify(accepted: boolean, reason?: string): NotifyAck;
}

/** Kept for scripts/ that still import the account shapes from here; they live in their channel folders. */
export type { AlipayAccount } from './alipay/account';
export type { WechatAccount } from './wechat/account';
