import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { closeRedis, createRedis } from '../../src/infra/redis';
import { Jobs } from '../../src/jobs';
import { OrderTimeouts } from '../../src/jobs/order-timeout';
import { QUEUE } from '../../src/jobs/queues';
import { BASE_ENV } from '../support/config';
import { eventually } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The queues every process makes at start (timeouts, status sync, deliveries, the sweep's, automatic refunds,
 * reconciliation) are set up once by BullMQ, which reads the server's version (INFO) and keeps that promise for the
 * queue's life. When Redis went away while that INFO was unanswered, every later command through the queue failed
 * with the setup's error until the process restarted, although the connection came back: an order's timeout job,
 * every event's delivery job. (The topic queues had the same flaw, event-topic-queue-recovers.test.ts.) Each queue
 * whose setup failed is now made again on its next use.
 */
const redisUrl = new URL(process.env.REDIS_URL!);
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await TcpProxy.start({ host: redisUrl.hostname, port: Number(redisUrl.port) });
});
afterAll(() => proxy.down());

describe('the start-up queues set up while Redis went away', () => {
  it('When Redis goes away during their setup and comes back, then every queue works again without a restart', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `{t-start-${id}}`;
    const config = loadConfig({
      ...BASE_ENV,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      QUEUE_PREFIX: prefix,
      EVENT_QUEUE_PREFIX: `{t-start-${id}-e}`,
    });
    const connection = createRedis(`redis://127.0.0.1:${proxy.port}`, { failFast: true });
    connection.on('error', () => undefined);
    await eventually(async () => connection.status === 'ready');
    const reader = createRedis(process.env.REDIS_URL!);
    const timeouts = new Queue(QUEUE.orderTimeout, { connection: reader, prefix });
    // Made as a process starts; their INFO is written this turn, and Redis goes away before it answers.
    const jobs = new Jobs(config, connection, connection);
    const setups = jobs.queues();
    for (const q of setups) q.on('error', () => undefined); // the outage, as expected
    await proxy.down();
    try {
      const outcomes = await Promise.all(
        setups.map((q) =>
          q.waitUntilReady().then(
            () => 'ready',
            () => 'failed',
          ),
        ),
      );
      expect(outcomes).toEqual(setups.map(() => 'failed')); // the window this test is about was hit
      // While Redis is away, the queue made in a failed one's place waits for the connection: one new queue, not one per use.
      const during = jobs.timeouts.queue;
      expect(setups.includes(during)).toBe(false); // a new one, made in the failed one's place
      expect(jobs.timeouts.queue).toBe(during);
      await proxy.up();
      await eventually(async () => connection.status === 'ready');

      // The order side's path: the sweep hands overdue orders to a timeout job.
      await eventually(() =>
        jobs.timeouts.expireOverdue(new Date()).then(
          () => true,
          () => false,
        ),
      );
      expect(await timeouts.getJob(OrderTimeouts.backlogJobId)).toBeDefined();
      // And every other start-up queue answers again.
      for (const name of ['statusSync', 'deliveries', 'sweeper', 'automaticRefunds', 'reconciliation'] as const) {
        const counts = await eventually(() => jobs[name].queue.getJobCounts('waiting').catch(() => undefined));
        expect(counts).toEqual({ waiting: expect.any(Number) });
      }
    } finally {
      await proxy.up();
      await timeouts.obliterate({ force: true }).catch(() => undefined);
      await jobs.close();
      await timeouts.close();
      await closeRedis(connection);
      await closeRedis(reader);
    }
  });
});
