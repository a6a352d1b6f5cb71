import { randomBytes } from 'node:crypto';
import { createRedis } from '../src/infra/redis';

/** QUEUE_PREFIX and EVENT_QUEUE_PREFIX for one bench run. */
export interface BenchQueuePrefixes {
  QUEUE_PREFIX: string;
  EVENT_QUEUE_PREFIX: string;
}

/**
 * BullMQ prefixes of this run alone: the orders a bench creates schedule 30-minute timeout jobs, which under the
 * default prefix a later service (or bench) would pick up and run against a database that is gone.
 */
export function benchQueuePrefixes(): BenchQueuePrefixes {
  const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  return { QUEUE_PREFIX: `{bench-${run}}`, EVENT_QUEUE_PREFIX: `{bench-ev-${run}}` };
}

/** Deletes every Redis key under the run's prefixes (SCAN + UNLINK; BullMQ keys are `<prefix>:<queue>:...`). Returns how many. */
export async function removeBenchQueues(redisUrl: string, prefixes: BenchQueuePrefixes): Promise<number> {
  const redis = createRedis(redisUrl);
  let removed = 0;
  try {
    for (const prefix of [prefixes.QUEUE_PREFIX, prefixes.EVENT_QUEUE_PREFIX]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) removed += await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return removed;
}
