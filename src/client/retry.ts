import { status } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { PaymentError } from './payment-error';

/** Attempts in all (1 = never retry) and a capped exponential backoff between them. */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 };

/**
 * Retried: UNAVAILABLE (the request did not get through, or the server asked for a retry: channel down,
 * database busy) and ABORTED (the call lost a race with a concurrent change of the same order). DEADLINE_EXCEEDED
 * is not retried: the deadline is the budget of the whole call, retries included, so once it has passed there is
 * nothing left to spend. See mayRetry for which method may be resent after which failure.
 */
export const isRetryable = (code: status): boolean => code === status.UNAVAILABLE || code === status.ABORTED;

/**
 * Methods whose request may have been acted on when an answer is lost mid-call (the connection reset after it
 * was sent) and that are not safe to send again: a second ReplayEvent schedules a second replay, a resent
 * UpdatePayWay fails its own expected_version, and a second StartReconciliation queues a second run of the day.
 * Every other method is a read or idempotent on its key ((tenant, out_order_no), (tenant, out_refund_no), the
 * order for Prepay and Cancel).
 */
export const NOT_IDEMPOTENT: ReadonlySet<string> = new Set(['replayEvent', 'updatePayWay', 'startReconciliation']);

/** What decides a retry: the failure as the client saw it. */
export interface FailedCall {
  code: status;
  /** The server's ErrorInfo reason; empty when the failure came from the client's transport, not the server. */
  reason: string;
  details: string;
}

/**
 * UNAVAILABLE from the client's own channel with no connection to use (refused, reset before the call, a server
 * restarting): the request never left, so resending it is safe for every method, and it costs the server
 * nothing, so it is retried until the deadline rather than counted against maxAttempts.
 */
export const neverSent = (e: FailedCall): boolean =>
  e.code === status.UNAVAILABLE && e.reason === '' && e.details.includes('No connection established');

/**
 * Whether `method` may be sent again after failing with `e`: never sent, or the server answered that nothing
 * changed (UNAVAILABLE with a reason, ABORTED), for every method; lost after it was sent (UNAVAILABLE from the
 * transport: connection reset, dropped), only for the idempotent ones.
 */
export function mayRetry(method: string, e: FailedCall): boolean {
  if (!isRetryable(e.code)) return false;
  if (neverSent(e) || e.reason !== '') return true;
  return !NOT_IDEMPOTENT.has(method);
}

/**
 * The pause after failed attempt `attempt` (1-based): base·2^(attempt−1), capped, half of it random ("equal
 * jitter"), so clients that failed together do not all come back at once.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits `ms`, or rejects with CANCELLED as soon as `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal, requestId?: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new PaymentError(status.CANCELLED, 'cancelled by the caller', { requestId });
  }
}
