import type { FaultBook } from '../kit/faults';

/**
 * Hostile behaviour the mock gateway can be told to show, each for a number of occurrences.
 * API faults apply to /v1 calls, notify faults to outgoing notifies (per delivery attempt for a dropped
 * or badly signed one, per notify for the others).
 */
export type GatewayFault =
  /** The API call answers 500 SYSTEM_ERROR without touching any state. */
  | { kind: 'serverError'; on?: ApiCall }
  /** The API call is held this long before being handled, so the caller times out first. */
  | { kind: 'hang'; ms: number; on?: ApiCall }
  /** The API response carries a signature that does not match its body. */
  | { kind: 'badResponseSignature' }
  /** One notify delivery attempt is not sent at all, as if lost on the way; it counts as unacknowledged. */
  | { kind: 'dropNotify' }
  /** One notify delivery attempt is signed with the wrong key. */
  | { kind: 'badNotifySignature' }
  /** The notify is delivered twice, concurrently, with the same notify_id. */
  | { kind: 'duplicateNotify' }
  /** The payment notify reports the paid amount shifted by `delta` minor units. */
  | { kind: 'notifyAmountMismatch'; delta: bigint }
  /** The next pay of a closed trade succeeds anyway, with its notify (the buyer paid as the merchant closed). */
  | { kind: 'successAfterClose' }
  /** A new refund is refused: it fails at once (REFUND.FAIL, answered and notified) and moves no money. */
  | { kind: 'refundFails' };

/**
 * Which API call a fault waits for, as method and path under /v1: exactly (`'POST /refunds'`), or every path under
 * one ending in a slash (`'GET /trades/'`, any trade query). Without it the next call of any kind takes the fault,
 * which a test cannot pin down while the service's own status-sync rounds query the channel in the background.
 */
export type ApiCall = `${'GET' | 'POST'} /${string}`;

export type Faults = FaultBook<GatewayFault>;
