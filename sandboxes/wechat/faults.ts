import type { FaultBook } from '../kit/faults';

/**
 * Hostile behaviour the WeChat sandbox can be told to show, each for a number of occurrences.
 * API faults apply to /v3 calls. Notify faults marked "per attempt" apply to one delivery attempt (the
 * notifier retries on its schedule afterwards); the others to one notify.
 */
export type WechatSandboxFault =
  /** The API call answers a signed 500 SYSTEM_ERROR without touching any state. */
  | { kind: 'serverError' }
  /** The API call answers a signed 429 FREQUENCY_LIMITED without touching any state. */
  | { kind: 'rateLimited' }
  /** The API call is held this long before being handled, so the caller times out first. */
  | { kind: 'hang'; ms: number }
  /** The API response carries a Wechatpay-Signature that does not match its body. */
  | { kind: 'badResponseSignature' }
  /** The API response carries no Wechatpay-* signature headers at all. */
  | { kind: 'missingResponseSignature' }
  /** Per attempt: the notify is signed `WECHATPAY/SIGNTEST/…`, a probe that must fail verification. */
  | { kind: 'signTestNotify' }
  /** Per attempt: the notify is validly signed over a timestamp ten minutes old. */
  | { kind: 'staleNotifyTimestamp' }
  /** Per attempt: the notify names a Wechatpay-Serial nobody knows. */
  | { kind: 'unknownNotifySerial' }
  /** Per attempt: the notify is not sent, as if lost; it counts as unacknowledged. */
  | { kind: 'dropNotify' }
  /** The payment notify reports amount.total shifted by `delta` fen. */
  | { kind: 'notifyAmountMismatch'; delta: bigint }
  /** The notify is delivered twice, concurrently, with the same event id. */
  | { kind: 'duplicateNotify' }
  /** The notify is held `holdMs` before its first attempt, so notifies sent after it overtake it. */
  | { kind: 'outOfOrderNotify'; holdMs: number }
  /**
   * The buyer's next payment is declined (the card or the balance refused it): the trade reads PAYERROR
   * (支付失败) from then on and no notify is sent, as WeChat Pay notifies only successes; a query finds it.
   */
  | { kind: 'payError' }
  /** The next pay of a CLOSED (or PAYERROR) trade succeeds anyway (the buyer paid while the merchant closed). */
  | { kind: 'successAfterClose' }
  /** The next statement URL is issued already expired, as if fetched after its 30 s. */
  | { kind: 'statementUrlExpired' }
  /** The next tradebill answers 400 STATEMENT_CREATING (账单生成中). */
  | { kind: 'statementNotReady' }
  /**
   * The next bill holds a payment the merchant never heard of: a NATIVE trade paid at WeChat Pay (queryable, no
   * notify ever sent), `amount` fen (default 4321), under `outTradeNo` (default a random X…).
   */
  | { kind: 'statementExtraTrade'; outTradeNo?: string; amount?: bigint }
  /** The next bill leaves out a paid trade's payment row (this one, or the first of the day). */
  | { kind: 'statementMissingTrade'; outTradeNo?: string }
  /** The next bill prints a payment's amount shifted by `delta` fen (default 1; this trade or the first). */
  | { kind: 'statementAmountDiffers'; outTradeNo?: string; delta?: bigint }
  /** The next bill holds a SUCCESS refund of a paid trade (this one or the first) that the merchant never asked for. */
  | { kind: 'statementUnknownRefund'; outTradeNo?: string; outRefundNo?: string; amount?: bigint }
  /** The next tradebill announces a hash_value that is not the bill's. */
  | { kind: 'statementBadHash' }
  /**
   * The next tradebill's download_url has the newer shape `/v3/bill/downloadurl?token=…` (2024 pages), which
   * wechatpay-axios-plugin does not know as a download: a client relying on its path list would try to verify it.
   */
  | { kind: 'statementNewerUrl' };

export type Faults = FaultBook<WechatSandboxFault>;
