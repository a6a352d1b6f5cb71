import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { createRedis, type RedisTarget } from '../src/infra/redis';

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

/**
 * Deletes every Redis key under the run's prefixes (SCAN + UNLINK; BullMQ keys are `<prefix>:<queue>:...`), on
 * each master of a cluster (a prefix's keys are all in its slot, so on one of them). Returns how many.
 */
export async function removeBenchQueues(target: string | RedisTarget, prefixes: BenchQueuePrefixes): Promise<number> {
  const redis = createRedis(typeof target === 'string' ? { kind: 'single', url: target } : target);
  let removed = 0;
  try {
    await redis.ping(); // a cluster client knows its nodes once ready
    for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
      for (const prefix of [prefixes.QUEUE_PREFIX, prefixes.EVENT_QUEUE_PREFIX]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          if (keys.length > 0) removed += await node.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
    }
  } finally {
    redis.disconnect();
  }
  return removed;
}
