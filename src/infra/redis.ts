import { Redis } from 'ioredis';

/** The longest pause between reconnect tries: a Redis that is back is seen within this (ioredis's default is 2 s). */
const MAX_RECONNECT_DELAY_MS = 1000;

/**
 * One ioredis connection. BullMQ's workers need maxRetriesPerRequest null (they block and must survive a
 * reconnect). Every connection a request uses (BullMQ's producers, the markers and limits, the order feed's
 * publisher) gets `failFast`: no offline queue, so a command while Redis is down fails at once instead of
 * holding the request through ioredis's reconnect tries (BullMQ's "fail fast" pattern); Redis there only carries
 * jobs and hints, which the callers treat as best effort.
 */
export function createRedis(url: string, options: { forBullmq?: boolean; failFast?: boolean } = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.forBullmq ? null : 3,
    enableReadyCheck: true,
    retryStrategy: (tries) => Math.min(tries * 50, MAX_RECONNECT_DELAY_MS),
    ...(options.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : {}),
  });
}
