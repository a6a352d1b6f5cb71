import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { EventDeliveries } from '../../src/jobs/event-delivery';
import { closeRedis, createRedis } from '../../src/infra/redis';
import { eventually } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * A topic's queue is made when the first event for that topic is delivered, on the shared producer connection.
 * BullMQ sets a queue up once (it reads the server's version with INFO) and keeps that setup's promise: when Redis
 * went away while the INFO was unanswered, every later add to that queue failed with the same error, although the
 * connection itself came back at once. A CI chaos run saw it: an instance restarted two seconds before Redis was,
 * and every event it delivered to `order.pay.notify` failed "Reached the max retries per request limit" for the rest
 * of the run (93 s); four were dead-lettered. A queue whose setup failed is dropped, and the next delivery makes a
 * new one.
 */
const redisUrl = new URL(process.env.REDIS_URL!);
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await TcpProxy.start({ host: redisUrl.hostname, port: Number(redisUrl.port) });
});
afterAll(() => proxy.down());

describe('a topic queue set up while Redis went away', () => {
  it('When the first delivery to a topic loses its setup to a Redis restart, then a later delivery reaches the topic', async () => {
    const connection = createRedis(`redis://127.0.0.1:${proxy.port}`, { failFast: true });
    connection.on('error', () => undefined);
    const prefix = `{t-topic-${randomUUID().slice(0, 8)}}`;
    const deliveries = new EventDeliveries(connection, prefix, prefix, [1000]);
    deliveries.queue.on('error', () => undefined); // the outage, as expected
    const reader = createRedis(process.env.REDIS_URL!);
    const topic = new Queue('order.pay.notify', { connection: reader, prefix });
    try {
      await deliveries.queue.waitUntilReady();
      const event = () => ({ id: randomUUID(), topic: 'order.pay.notify', attempts: 0, payload: { n: 1 } });

      // The topic's queue is made by this call, and its INFO is written this turn: Redis goes away before it answers.
      const first = deliveries.queueClaimed([event()], 5000);
      await proxy.down();
      await expect(first).rejects.toThrow();
      await proxy.up();
      await eventually(async () => connection.status === 'ready');

      const again = event();
      const batch = await eventually(async () => {
        const b = await deliveries.queueClaimed([again], 5000);
        return b.delivered.length > 0 && b;
      });
      expect(batch).toMatchObject({ delivered: [{ ids: [again.id] }], dead: [] });
      expect(await topic.getJob(again.id)).toBeDefined();
    } finally {
      await topic.obliterate({ force: true }).catch(() => undefined);
      await deliveries.queue.obliterate({ force: true }).catch(() => undefined);
      await topic.close();
      await deliveries.close();
      await closeRedis(connection);
      await closeRedis(reader);
    }
  });
});
