import { Redis } from 'ioredis';

/**
 * One ioredis connection. BullMQ's workers need maxRetriesPerRequest null (they block and must survive a
 * reconnect); its producers (Queue.add from a request) get `failFast`: no offline queue, so an add while Redis
 * is down fails at once instead of holding the request until Redis returns (BullMQ's "fail fast" pattern).
 */
export function createRedis(url: string, options: { forBullmq?: boolean; failFast?: boolean } = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: options.forBullmq ? null : 3,
    enableReadyCheck: true,
    ...(options.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : {}),
  });
}
