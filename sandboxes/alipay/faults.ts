import type { FaultBook } from '../kit/faults';

/**
 * Hostile behaviour the Alipay sandbox can be told to show, each for a number of occurrences. API faults apply
 * to gateway.do calls (not the cashier pages); notify faults to outgoing notifies.
 */
export type AlipaySandboxFault =
  /** gateway.do answers this HTTP status (default 502) with a plain-text body; no state is touched. */
  | { kind: 'serverError'; status?: number }
  /** The call is held this long before it is handled (it still takes effect then), so the caller times out. */
  | { kind: 'hang'; ms: number }
  /** The response's sign does not match its body. */
  | { kind: 'badResponseSignature' }
  /** The next successful answer leaves out this field, validly signed all the same (missing is not matching). */
  | { kind: 'omitAnswerField'; field: string }
  /** A signed `20000 isp.unknow-error` answer; no state is touched. */
  | { kind: 'unknownError' }
  /** A signed `40004 ACQ.SYSTEM_ERROR` answer; no state is touched. */
  | { kind: 'systemError' }
  /** One notify delivery attempt is signed wrongly. */
  | { kind: 'badNotifySignature' }
  /** The next payment notify reports total_amount shifted by `delta` fen (validly signed). */
  | { kind: 'notifyAmountMismatch'; delta: bigint }
  /** The next notify is delivered twice at once, same notify_id. */
  | { kind: 'duplicateNotify' }
  /** The next payment notify is held back until the trade's next refund or close notify has been sent. */
  | { kind: 'outOfOrderNotify' }
  /** The next pay of a closed trade succeeds anyway, with its TRADE_SUCCESS notify. */
  | { kind: 'successAfterClose' }
  /** The next statement URL is issued already expired, as if fetched after its 30 s. */
  | { kind: 'statementUrlExpired' }
  /** The next bill downloadurl query answers isp.bill_not_exist (not generated yet). */
  | { kind: 'statementNotReady' }
  /**
   * The next statement holds a payment the merchant never heard of: a trade paid at Alipay (queryable, no
   * notify ever sent), `amount` fen (default 4321), under `outTradeNo` (default a random X…).
   */
  | { kind: 'statementExtraTrade'; outTradeNo?: string; amount?: bigint }
  /** The next statement leaves out a paid trade's payment row (this one, or the first of the day). */
  | { kind: 'statementMissingTrade'; outTradeNo?: string }
  /** The next statement prints a payment's amount shifted by `delta` fen (default 1; this trade or the first). */
  | { kind: 'statementAmountDiffers'; outTradeNo?: string; delta?: bigint }
  /** The next statement holds a refund of a paid trade (this one or the first) that the merchant never asked for. */
  | { kind: 'statementUnknownRefund'; outTradeNo?: string; outRefundNo?: string; amount?: bigint };

export type Faults = FaultBook<AlipaySandboxFault>;
