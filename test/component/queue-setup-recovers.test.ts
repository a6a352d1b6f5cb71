import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { closeRedis, createRedis, type RedisConnectionOptions } from '../../src/infra/redis';
import { createLogger } from '../../src/infra/logger';
import { createMetrics } from '../../src/infra/metrics';
import { Jobs } from '../../src/jobs';
import { EventDeliveries } from '../../src/jobs/event-delivery';
import { OrderTimeouts } from '../../src/jobs/order-timeout';
import { QUEUE, startWorker, stopWorkers } from '../../src/jobs/queues';
import { BASE_ENV } from '../support/config';
import { eventually } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * BullMQ sets a queue up once (it reads the server's version with INFO) and keeps that setup's promise for the
 * queue's life: when Redis went away while the INFO was unanswered, every later command through the queue failed
 * with the same error, although the connection itself came back at once. Every producer queue is now read through a
 * RenewingQueue (src/jobs/renewing-queue.ts), which makes a new one on the next use once a setup failed. Both users
 * are proven here, each through a TCP proxy taken down while the setup's INFO is unanswered:
 * - a topic's queue, made when the first event for that topic is delivered. A CI chaos run saw it: an instance
 *   restarted two seconds before Redis was, and every event it delivered to `order.pay.notify` failed "Reached the
 *   max retries per request limit" for the rest of the run (93 s); four were dead-lettered;
 * - the queues every process makes at start (timeouts, status sync, deliveries, the sweep's, automatic refunds,
 *   reconciliation), which failed until the process restarted: no order's timeout job, no event's delivery job.
 * The workers are not renewed, and need not be: their connection (createRedis's forBullmq: no per-request retry
 * limit, an offline queue) holds the setup's INFO through the outage and sends it again once Redis is back, so
 * their setup waits instead of failing. The last test proves it through startWorker, which makes every worker.
 */
const redisUrl = new URL(process.env.REDIS_URL!);
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await TcpProxy.start({ host: redisUrl.hostname, port: Number(redisUrl.port) });
});
afterAll(() => proxy.down());

/** A connection to Redis through the proxy, with the given options; its errors during the outage are expected. */
function throughProxy(options: RedisConnectionOptions) {
  const connection = createRedis(`redis://127.0.0.1:${proxy.port}`, options);
  connection.on('error', () => undefined);
  return connection;
}

/** Removes a test queue's keys (if Redis answers) and closes it. */
async function discard(queue: Queue): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
}

describe('a topic queue set up while Redis went away', () => {
  it('When the first delivery to a topic loses its setup to a Redis restart, then a later delivery reaches the topic', async () => {
    const connection = throughProxy({ failFast: true });
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
      await discard(topic);
      await deliveries.queue.obliterate({ force: true }).catch(() => undefined);
      await deliveries.close();
      await closeRedis(connection);
      await closeRedis(reader);
    }
  });
});

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
    const connection = throughProxy({ failFast: true });
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
      await discard(timeouts);
      await jobs.close();
      await closeRedis(connection);
      await closeRedis(reader);
    }
  });
});

describe('a worker set up while Redis went away', () => {
  it("When Redis goes away during a worker's setup and comes back, then its setup completes and it runs the next job", async () => {
    const connection = throughProxy({ forBullmq: true }); // the workers' own options
    await eventually(async () => connection.status === 'ready');
    const prefix = `{t-worker-${randomUUID().slice(0, 8)}}`;
    const reader = createRedis(process.env.REDIS_URL!);
    const queue = new Queue('t-worker', { connection: reader, prefix });
    const ran: string[] = [];
    const ctx = { connection, prefix, log: createLogger('silent'), metrics: createMetrics() };
    // Made as a process starts its workers; its INFO is written this turn, and Redis goes away before it answers.
    const worker = startWorker(ctx, 't-worker', async (job) => {
      ran.push(job.id!);
      return 'done';
    });
    let setup = 'pending';
    void worker.waitUntilReady().then(
      () => (setup = 'ready'),
      () => (setup = 'failed'),
    );
    await proxy.down();
    try {
      await eventually(async () => connection.status === 'reconnecting');
      expect(setup).toBe('pending'); // the window this test is about was hit: the setup neither answered nor failed
      await proxy.up();
      await eventually(async () => setup !== 'pending');
      expect(setup).toBe('ready');

      const job = await queue.add('after', { n: 1 }, { jobId: randomUUID() });
      await eventually(async () => (await job.getState()) === 'completed');
      expect(ran).toEqual([job.id]);
    } finally {
      await proxy.up();
      await stopWorkers([worker], 0);
      await discard(queue);
      await closeRedis(connection);
      await closeRedis(reader);
    }
  });
});
