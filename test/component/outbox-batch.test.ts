import { Queue, type Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { QUEUE } from '../../src/jobs/queues';
import { OutboxRelay } from '../../src/jobs/outbox-relay';
import { eventually, startHarness, uniq, type Harness } from '../support/harness';

/**
 * Issue 13: the relay claims events a batch at a time and delivers them to their topic queues itself, in the
 * claim's transaction; only a topic whose add failed takes per-event delivery jobs (the retry schedule).
 * The service here runs no workers and no relay of its own: each test drives relays by hand.
 */
describe('outbox relay, a batch at a time', () => {
  let h: Harness;
  const QUEUE_PREFIX = `{${uniq('obq')}}`;
  const EVENT_QUEUE_PREFIX = `{${uniq('obe')}}`;
  const queues: Queue[] = [];
  const workers: Worker[] = [];

  const db = () => h.service.deps.db;
  const deliveries = () => h.service.deps.jobs.deliveries;
  const relay = (batchSize?: number) => new OutboxRelay(db(), deliveries(), h.service.deps.log, h.service.deps.metrics, 50, batchSize);
  const queue = (name: string, prefix = EVENT_QUEUE_PREFIX) => {
    const q = new Queue(name, { connection: h.service.deps.queueRedis, prefix });
    queues.push(q);
    return q;
  };
  /** Ids of the jobs waiting in a topic queue, oldest first (the order a consumer takes them). */
  const waiting = async (topic: string) => (await queue(topic).getJobs(['wait'], 0, -1, true)).map((j) => j.id);

  /** Writes pending events as committed transactions leave them; returns their ids in write order. */
  async function pending(topics: string[], perTopic: number, at = new Date()): Promise<string[]> {
    const rows = topics.flatMap((topic) =>
      Array.from({ length: perTopic }, (_, i) => {
        const id = randomUUID();
        const payNo = uniq('P');
        return {
          id,
          tenantId: 'tob',
          payNo,
          type: 'ORDER_CLOSED',
          orderVersion: BigInt(i + 1),
          topic,
          payload: { eventId: id, payNo },
          nextAttemptAt: at,
        };
      }),
    );
    await db().outboxEvent.createMany({ data: rows });
    return rows.map((r) => r.id);
  }

  /** The events with their delivery tries, oldest first. */
  async function events(ids: string[]) {
    const rows = await db().outboxEvent.findMany({ where: { id: { in: ids } } });
    const tries = await db().eventDelivery.findMany({ where: { eventId: { in: ids } }, orderBy: { id: 'asc' } });
    return rows.map((e) => ({ ...e, deliveries: tries.filter((t) => t.eventId === e.id) }));
  }

  /** Relays until nothing is pending (what other test files left behind included). */
  async function drain(r: OutboxRelay): Promise<number> {
    let total = 0;
    for (let n = await r.relayOnce(); n > 0; n = await r.relayOnce()) total += n;
    return total;
  }

  beforeAll(async () => {
    h = await startHarness({ WORKERS_ENABLED: 'false', QUEUE_PREFIX, EVENT_QUEUE_PREFIX });
    await drain(relay());
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(queues.map((q) => q.close()));
    await h.close();
  });

  it('When 150 events of three topics are pending, then one pass claims them all and delivers each exactly once to its topic, in order, marked DELIVERED with one try', async () => {
    const topics = [uniq('ob.a.'), uniq('ob.b.'), uniq('ob.c.')];
    const ids = await pending(topics, 50);
    // One order's three events of one transaction (same instant): the topic gets them in version order, whatever
    // their ids' order.
    const at = new Date(Date.now() + 1000);
    const same = ['ffffffff-0000-4000-8000-', 'aaaaaaaa-0000-4000-8000-', 'cccccccc-0000-4000-8000-'].map(
      (p) => p + randomUUID().slice(24),
    );
    const payNo = uniq('P');
    await db().outboxEvent.createMany({
      data: same.map((id, i) => ({
        id,
        tenantId: 'tob',
        payNo,
        type: 'REFUND_SUCCEEDED',
        orderVersion: BigInt(i + 1),
        topic: topics[0],
        payload: { eventId: id },
        nextAttemptAt: at,
      })),
    });

    expect(await relay().relayOnce()).toBe(153);

    const rows = await events([...ids, ...same]);
    expect(rows).toHaveLength(153);
    for (const e of rows) {
      expect(e).toMatchObject({ status: 'DELIVERED', attempts: 1, lastError: null });
      expect(e.deliveries).toEqual([expect.objectContaining({ attempt: 1, ok: true, detail: 'queued' })]);
    }
    const byId = new Map(rows.map((e) => [e.id, e]));
    for (const [i, topic] of topics.entries()) {
      const mine = ids.slice(i * 50, i * 50 + 50);
      for (const id of mine) expect(byId.get(id)!.deliveries[0].target).toBe(`queue:${topic}`);
      expect(await waiting(topic)).toEqual(i === 0 ? [...mine, ...same] : mine);
    }
    const job = await queue(topics[1]).getJob(ids[50]);
    expect(job?.data).toEqual({ eventId: ids[50], payNo: expect.any(String) });
    // Nothing went through the per-event delivery queue.
    expect(await queue(QUEUE.eventDelivery, QUEUE_PREFIX).count()).toBe(0);
  });

  it("When one topic's add fails, then the other topics' events are delivered, and the failed ones take the retry schedule: retried, dead-lettered, replayed", async () => {
    const [good, bad] = [uniq('ob.good.'), uniq('ob.bad.')];
    const ids = await pending([good, bad], 5);
    const [goodIds, badIds] = [ids.slice(0, 5), ids.slice(5)];
    // The topic's job counter holds a string: every add to it fails in Redis, before writing anything.
    const redis = h.service.deps.queueRedis;
    await redis.set(`${EVENT_QUEUE_PREFIX}:${bad}:id`, 'not-a-number');

    expect(await relay().relayOnce()).toBe(10);
    for (const e of await events(goodIds)) expect(e).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(await waiting(good)).toEqual(goodIds);
    const failed = await events(badIds);
    for (const e of failed) {
      expect(e).toMatchObject({ status: 'QUEUED', attempts: 1 });
      // Due after the first retry delay (100 ms), in the same clock as the rest of the row.
      expect(Math.abs(e.nextAttemptAt.getTime() - (Date.now() + 100))).toBeLessThan(5000);
      expect(e.lastError).toMatch(new RegExp(`^queue:${bad.replace(/\./g, '\\.')}: .*not an integer`));
      expect(e.deliveries).toEqual([expect.objectContaining({ attempt: 1, target: `queue:${bad}`, ok: false })]);
    }
    // Each has its own delivery job, under its id, due after the first retry delay.
    const deliveryQueue = queue(QUEUE.eventDelivery, QUEUE_PREFIX);
    for (const id of badIds) expect(await (await deliveryQueue.getJob(id))?.isDelayed()).toBe(true);

    // The delivery worker runs the retries (100, 200, 400 ms); the topic stays broken, so they end dead.
    workers.push(deliveries().worker(h.service.deps, { connection: redis, log: h.service.deps.log, metrics: h.service.deps.metrics }));
    const dead = await eventually(async () => {
      const rows = await events(badIds);
      return rows.every((e) => e.status === 'DEAD') && rows;
    }, 20_000);
    for (const e of dead) {
      expect(e.attempts).toBe(4);
      expect(e.deliveries.map((d) => [d.attempt, d.ok])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, false],
      ]);
    }

    // Fixed and replayed: delivered once each, by the relay again.
    await redis.del(`${EVENT_QUEUE_PREFIX}:${bad}:id`);
    for (const id of badIds) {
      expect(await deliveries().forget(id, bad)).toBe(true);
      await db().$executeRaw`UPDATE outbox_event SET status = 'PENDING', attempts = 0 WHERE id = ${id}`;
    }
    expect(await drain(relay())).toBe(5);
    for (const e of await events(badIds)) expect(e).toMatchObject({ status: 'DELIVERED', attempts: 1, lastError: null });
    expect((await waiting(bad)).sort()).toEqual([...badIds].sort());
  });

  it('When Redis takes neither the adds nor the retries, then the pass fails and changes nothing; the next pass delivers each event once', async () => {
    const [good, bad] = [uniq('ob.good.'), uniq('ob.bad.')];
    const ids = await pending([good, bad], 3);
    const redis = h.service.deps.queueRedis;
    await redis.set(`${EVENT_QUEUE_PREFIX}:${bad}:id`, 'not-a-number');
    await redis.set(`${QUEUE_PREFIX}:${QUEUE.eventDelivery}:id`, 'not-a-number');

    await expect(relay().relayOnce()).rejects.toThrow(/not an integer/);
    // Rolled back: still PENDING, no try recorded (the good topic already has its jobs, under the event ids).
    for (const e of await events(ids)) expect(e).toMatchObject({ status: 'PENDING', attempts: 0, deliveries: [] });
    expect(await waiting(good)).toEqual(ids.slice(0, 3));

    await redis.del(`${EVENT_QUEUE_PREFIX}:${bad}:id`, `${QUEUE_PREFIX}:${QUEUE.eventDelivery}:id`);
    expect(await drain(relay())).toBe(6);
    for (const e of await events(ids)) {
      expect(e).toMatchObject({ status: 'DELIVERED', attempts: 1 });
      expect(e.deliveries).toHaveLength(1);
    }
    // The second add of the good topic's events was a no-op: each is there once.
    expect(await waiting(good)).toEqual(ids.slice(0, 3));
    expect(await waiting(bad)).toEqual(ids.slice(3));
  });

  it('When two relays claim concurrently, then every event is claimed by one of them and delivered exactly once', async () => {
    const topics = [uniq('ob.x.'), uniq('ob.y.')];
    const ids = await pending(topics, 100);
    const counts = await Promise.all([drain(relay(20)), drain(relay(20))]);
    expect(counts[0] + counts[1]).toBe(200);
    const rows = await events(ids);
    for (const e of rows) {
      expect(e).toMatchObject({ status: 'DELIVERED', attempts: 1 });
      expect(e.deliveries).toHaveLength(1);
    }
    expect((await waiting(topics[0])).sort()).toEqual(ids.slice(0, 100).sort());
    expect((await waiting(topics[1])).sort()).toEqual(ids.slice(100).sort());
  });
});
