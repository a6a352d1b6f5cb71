import { withTimeout } from '../infra/with-timeout';
import type { AutomaticRefundTarget } from '../domain/automatic-refunds';
import type { AutomaticRefundTry, Deps } from './deps';

/**
 * Scheduling follow-up work is best effort where the caller already has its answer (the order exists, the
 * prepay is open, the channel said "unknown"): a Redis hiccup is logged, not turned into a second failure.
 * Nothing is lost by it: the sweeper finds overdue orders, unasked attempts and pending refunds in the database.
 */
export async function scheduleSync(deps: Deps, attemptNo: string): Promise<void> {
  await bestEffort(deps, () => deps.statusSync.schedule(attemptNo), { attemptNo }, 'could not schedule a status sync');
}

export async function scheduleRefundSync(deps: Deps, refundNo: string): Promise<void> {
  await bestEffort(deps, () => deps.statusSync.scheduleRefund(refundNo), { refundNo }, 'could not schedule a refund sync');
}

/**
 * An automatic refund (of a payment after close, of a duplicate payment), or its try `tryNo` at `at`: only
 * enqueued here; if Redis loses it, the sweep enqueues it again (what must happen is in the database).
 */
export async function scheduleAutomaticRefund(deps: Deps, target: AutomaticRefundTarget, when?: AutomaticRefundTry): Promise<void> {
  await bestEffort(
    deps,
    () => deps.automaticRefunds.schedule(target, when),
    { payNo: target.payNo, attemptNo: target.attemptNo, tryNo: when?.tryNo },
    'could not enqueue the automatic refund',
  );
}

/** Undefined when the order's second already has its job here (most calls): no promise, no timer. */
export function scheduleTimeout(deps: Deps, order: { tenantId: string; payNo: string; expireAt: Date }): Promise<void> | undefined {
  const adding = deps.timeouts.schedule(order); // never throws: a failed add is a rejection
  return adding && bestEffort(deps, () => adding, { payNo: order.payNo }, 'could not schedule the order timeout');
}

/** Producers fail fast while Redis is down; the timeout also bounds a Redis that is up but stuck. */
const SCHEDULE_TIMEOUT_MS = 2000;

async function bestEffort(deps: Deps, fn: () => Promise<void>, ctx: object, message: string): Promise<void> {
  try {
    await withTimeout(fn(), SCHEDULE_TIMEOUT_MS, 'Redis');
  } catch (err) {
    deps.log.warn({ err, ...ctx }, `${message}; the sweeper will find it`);
  }
}
