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
 * database busy) and ABORTED (the call lost a race with a concurrent change of the same order). Every RPC may be
 * retried, because the mutations are idempotent on (tenant, out_order_no) and (tenant, out_refund_no) and the
 * client resends the very same request. DEADLINE_EXCEEDED is not retried: the deadline is the budget of the
 * whole call, retries included, so once it has passed there is nothing left to spend.
 */
export const isRetryable = (code: status): boolean => code === status.UNAVAILABLE || code === status.ABORTED;

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
