import { withTimeout } from '../infra/with-timeout';
import type { Deps } from './deps';

/**
 * The notify pipeline's limits, in Redis: they only bound what unverifiable traffic may cost, so Redis down or
 * slow never fails a notify (the limits let it through; its stored body is capped anyway). Deduplication needs no
 * Redis: the receipt in MySQL is read with the trade (findNotifiedAttempt) and written in the applying transaction.
 */

const REDIS_TIMEOUT_MS = 1000;

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
