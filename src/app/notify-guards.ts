import { withTimeout } from '../infra/with-timeout';
import { hasReceipt, type ReceiptKey } from '../repo/notifies';
import type { Deps } from './deps';

/**
 * Redis helpers of the notify pipeline. Both are hints: the receipt in MySQL is the dedupe truth, and the
 * limits only bound what unverifiable traffic may cost. Redis down or slow never fails a notify: the dedupe
 * hint falls back to the database, and the limits let the notify through (whose stored body is capped anyway).
 */

const SEEN_TTL_SECONDS = 48 * 3600;
const REDIS_TIMEOUT_MS = 1000;

/** Keys live under QUEUE_PREFIX, like every other key of this service. */
const seenKey = (deps: Deps, k: ReceiptKey) => `${deps.keyPrefix}:notify-seen:${k.channel}:${k.tenantId}:${k.attemptNo}:${k.notifyId}`;

/** Whether this notify was already applied to this very trade. Redis answers "first time" fast; only a receipt says "seen". */
export async function seenBefore(deps: Deps, key: ReceiptKey): Promise<boolean> {
  try {
    const first = await withTimeout(deps.redis.set(seenKey(deps, key), '1', 'EX', SEEN_TTL_SECONDS, 'NX'), REDIS_TIMEOUT_MS, 'Redis');
    if (first !== null) return false;
  } catch (err) {
    deps.log.warn({ err, channel: key.channel }, 'notify dedupe hint unavailable; asking the database');
  }
  return hasReceipt(deps.db, key);
}

export type Budget = 'within' | 'exceeded';

/**
 * Counts one notify that could not be verified against the service-wide budget and, when `tenantId` is given,
 * that tenant's budget on the channel; per clock minute. Redis unavailable: within (logged).
 */
export async function spendUnverifiedBudget(deps: Deps, channel: string, tenantId?: string): Promise<Budget> {
  const minute = Math.floor(Date.now() / 60_000);
  const all = `${deps.keyPrefix}:notify-unverified:${minute}`;
  const tenant = `${deps.keyPrefix}:notify-rejects:${channel}:${tenantId ?? ''}:${minute}`;
  const multi = deps.redis.multi().incr(all).expire(all, 120);
  if (tenantId !== undefined) multi.incr(tenant).expire(tenant, 120);
  try {
    const replies = (await withTimeout(multi.exec(), REDIS_TIMEOUT_MS, 'Redis')) ?? [];
    const [allCount, , tenantCount] = replies.map(([err, v]) => (err ? 0 : Number(v)));
    if (allCount > deps.notifyLimits.unverifiedPerMinute) return 'exceeded';
    if (tenantId !== undefined && tenantCount > deps.notifyLimits.perTenantPerMinute) return 'exceeded';
    return 'within';
  } catch (err) {
    deps.log.warn({ err, channel }, 'notify limits unavailable; letting an unverifiable notify through');
    return 'within';
  }
}
