import { Queue } from 'bullmq';
import { benchQueuePrefixes, removeBenchQueues } from '../../bench/queues';
import { createRedis } from '../../src/infra/redis';

const redisUrl = process.env.REDIS_URL!;

describe('bench queues', () => {
  it('When a bench run ends, then its delayed jobs and events are gone from Redis and no other key is touched', async () => {
    const run = benchQueuePrefixes();
    expect(benchQueuePrefixes()).not.toEqual(run); // each run its own
    const other = benchQueuePrefixes();
    const redis = createRedis(redisUrl);
    const queues = [run.QUEUE_PREFIX, run.EVENT_QUEUE_PREFIX, other.QUEUE_PREFIX].map(
      (prefix) => new Queue('order-timeout', { prefix, connection: redis }),
    );
    const keysUnder = async (prefix: string) => (await redis.keys(`${prefix}:*`)).length;
    try {
      for (const q of queues) await q.add('expire', { payNo: 'P1' }, { delay: 30 * 60_000 });
      expect(await keysUnder(run.QUEUE_PREFIX)).toBeGreaterThan(0);
      expect(await removeBenchQueues(redisUrl, run)).toBeGreaterThan(0);
      expect([await keysUnder(run.QUEUE_PREFIX), await keysUnder(run.EVENT_QUEUE_PREFIX)]).toEqual([0, 0]);
      expect(await keysUnder(other.QUEUE_PREFIX)).toBeGreaterThan(0); // another run's (or the service's) keys stay
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      await removeBenchQueues(redisUrl, other);
      redis.disconnect();
    }
  });
});
