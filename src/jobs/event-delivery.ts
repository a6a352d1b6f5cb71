import { DelayedError, Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook } from '../events/webhook-signature';
import type { Metrics } from '../infra/metrics';
import type { Logger } from '../infra/logger';
import { findEvent, recordDelivery, recordQueueTries, type ClaimedEvent, type DeliverableEvent } from '../repo/outbox';
import type { Tx } from '../repo/tx';
import { withTimeout } from '../infra/with-timeout';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer, RenewingQueue } from './renewing-queue';

export interface DeliveryJob {
  eventId: string;
}

export interface WebhookTarget {
  url: string;
  secret: string;
  timeoutMs: number;
}

type DeliveryOutcome = { kind: 'done'; summary: string } | { kind: 'retry'; at: Date; summary: string };

export interface Try {
  target: string;
  ok: boolean;
  detail: string;
  durationMs: number;
}

/** How long the order side's queues keep a job after it ran (so a re-delivery within that time is a no-op). */
const KEEP_DONE_SECONDS = 24 * 3600;
const KEEP_FAILED_SECONDS = 7 * 24 * 3600;
/** The order side's job for an event: its id is the event id, so adding it again while it is kept is a no-op. */
const TOPIC_JOB = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: KEEP_DONE_SECONDS },
  removeOnFail: { age: KEEP_FAILED_SECONDS },
};
/** Topics are few in practice (one per consuming service); this only bounds a misconfigured caller. */
const MAX_TOPIC_QUEUES = 256;

/**
 * Delivers outbox events to the order side: to the BullMQ queue each order names (its notify topic, under
 * EVENT_QUEUE_PREFIX) and, when configured, to a signed webhook. Without a webhook the relay makes the first
 * try itself, a claimed batch at a time (queueClaimed, recordClaimed); a delivery job per event, its id the event
 * id, carries the retries of a failed try (and every try when a webhook is configured). A failed delivery is
 * retried on `retryDelaysMs` (about 24 h by default), then the event is dead-lettered. Every try is recorded. The database row is the truth: a run for an event already delivered or dead does
 * nothing, so running a job twice, or re-queuing a lost one, is harmless. Consumers dedupe on the event id.
 */
export class EventDeliveries extends QueueProducer<Queue<DeliveryJob>> {
  private readonly topics = new Map<string, RenewingQueue<Queue>>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly eventPrefix: string,
    private readonly retryDelaysMs: readonly number[],
    private readonly webhook?: WebhookTarget,
  ) {
    super(() => new Queue<DeliveryJob>(QUEUE.eventDelivery, { connection, prefix }));
  }

  /** Deliveries per event: the first and one per retry delay. */
  get maxAttempts(): number {
    return this.retryDelaysMs.length + 1;
  }

  /**
   * Queues a delivery per event; an event whose job already exists is not queued twice. The job's own
   * attempts only cover unexpected errors (the database unreachable mid-run); a delivery that failed at its
   * target is recorded and the same job is delayed to the next retry the database's attempt count calls for.
   */
  async enqueue(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.queue.addBulk(eventIds.map((eventId) => ({ name: 'deliver', data: { eventId }, opts: this.jobOptions(eventId) })));
  }

  /**
   * True when an event's topic queue is its only target: then the relay delivers the events it claims itself
   * (queueClaimed, recordClaimed), and a delivery job exists only for an event whose first try failed. With a webhook every
   * event gets a delivery job, as an HTTP call per event has no place in the claim's transaction.
   */
  get deliversOnClaim(): boolean {
    return !this.webhook;
  }

  /**
   * The first delivery of events the relay claimed, inside its claim transaction (recordClaimed then writes the
   * outcome in it). Each topic's events go in one pipelined addBulk, all topics at once (one round trip), under
   * the event ids, so adding an event again after a rollback is a no-op. A topic whose add failed does not hold
   * back the others: its events take the retry schedule as delivery jobs, queued here before the commit (so a
   * QUEUED event always has its job), or are dead-lettered on their last attempt. Throws only when Redis cannot
   * take the retries either (it is down, or slower than `redisTimeoutMs`); the caller rolls back and every
   * event stays PENDING for the next pass.
   */
  async queueClaimed(events: ClaimedEvent[], redisTimeoutMs: number): Promise<ClaimedBatch> {
    const byTopic = new Map<string, ClaimedEvent[]>();
    for (const e of events) {
      const list = byTopic.get(e.topic);
      if (list) list.push(e);
      else byTopic.set(e.topic, [e]);
    }
    const started = performance.now();
    const adds = [...byTopic].map(async ([topic, list]) => ({
      list,
      t: await timed(`queue:${topic}`, async () => {
        await this.topic(topic).addBulk(list.map((e) => ({ name: 'payment-event', data: e.payload, opts: { jobId: e.id, ...TOPIC_JOB } })));
        return 'queued';
      }),
    }));
    const tried = await withTimeout(Promise.all(adds), redisTimeoutMs, 'delivering events to their topic queues');
    const durationMs = Math.round(performance.now() - started);

    const batch: ClaimedBatch = { delivered: [], retries: [], dead: [] };
    const now = Date.now();
    for (const { list, t } of tried) {
      for (const [attempt, ids] of groupByAttempt(list)) {
        if (t.ok) batch.delivered.push({ attempt, ids, try: { ...t, durationMs } });
        else if (attempt >= this.maxAttempts) batch.dead.push({ attempt, ids, error: `${t.target}: ${t.detail}`, try: t });
        else batch.retries.push({ attempt, ids, error: `${t.target}: ${t.detail}`, try: t, at: new Date(now + this.delayAfter(attempt)) });
      }
    }
    const retries = batch.retries.flatMap((r) =>
      r.ids.map((eventId) => ({
        name: 'deliver',
        data: { eventId },
        opts: { ...this.jobOptions(eventId), delay: Math.max(1, r.at.getTime() - now) },
      })),
    );
    if (retries.length > 0) await withTimeout(this.queue.addBulk(retries), redisTimeoutMs, 'queuing event retries');
    return batch;
  }

  /**
   * Writes what queueClaimed did, in the claim's transaction: the tries (one row per event) and the events' new
   * state, two statements per outcome and attempt number, whatever the batch's size. A delivered event's try
   * takes the whole batch's Redis time (its topic's add ran alongside the others).
   */
  async recordClaimed(tx: Tx, batch: ClaimedBatch): Promise<void> {
    for (const d of batch.delivered) await recordQueueTries(tx, d.ids, d.attempt, d.try, { status: 'DELIVERED', lastError: null });
    for (const r of batch.retries)
      await recordQueueTries(tx, r.ids, r.attempt, r.try, { status: 'QUEUED', lastError: r.error, nextAttemptAt: r.at });
    for (const d of batch.dead) await recordQueueTries(tx, d.ids, d.attempt, d.try, { status: 'DEAD', lastError: d.error });
  }

  /** Metrics and logs for a batch from queueClaimed, once its transaction committed: per batch, not per event. */
  reportClaimed(batch: ClaimedBatch, metrics: Metrics, log: Logger): void {
    const count = (groups: { ids: string[] }[]) => groups.reduce((n, g) => n + g.ids.length, 0);
    const delivered = count(batch.delivered);
    const failed = count(batch.retries) + count(batch.dead);
    if (delivered > 0) metrics.deliveries.inc({ target: 'queue', result: 'ok' }, delivered);
    if (failed > 0) metrics.deliveries.inc({ target: 'queue', result: 'failed' }, failed);
    if (batch.dead.length > 0) metrics.deliveries.inc({ target: 'event', result: 'dead' }, count(batch.dead));
    for (const r of batch.retries)
      log.warn({ eventIds: r.ids, attempt: r.attempt, next: r.at, error: r.error }, 'event delivery failed; will retry');
    for (const d of batch.dead)
      log.error({ eventIds: d.ids, attempts: d.attempt, error: d.error }, 'event dead-lettered after its last delivery attempt');
  }

  private jobOptions(eventId: string) {
    return {
      jobId: eventId,
      attempts: 5,
      backoff: { type: 'exponential', delay: 10_000 },
      removeOnComplete: true,
      removeOnFail: { age: KEEP_FAILED_SECONDS },
    };
  }

  /**
   * For the sweep: queues events again whose job is gone (a Redis flush) or ended without settling the event
   * (failed on unexpected errors, stalled twice); a job still waiting, delayed or running is left alone.
   */
  async requeue(eventIds: string[]): Promise<void> {
    for (const eventId of eventIds) {
      const job = await this.queue.getJob(eventId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'failed' || state === 'completed') await job!.remove().catch(() => undefined);
      if (state === 'failed' || state === 'completed' || state === 'missing' || state === 'unknown') {
        await this.queue.add('deliver', { eventId }, this.jobOptions(eventId));
      }
    }
  }

  /**
   * Drops the event's jobs, here and in the order side's topic queue (which keeps a done job for a day, under
   * the same id), so a replay is delivered afresh. False if either is being processed right now.
   */
  async forget(eventId: string, topic: string): Promise<boolean> {
    for (const queue of [this.queue, this.topic(topic)]) {
      const job = await queue.getJob(eventId);
      if (!job) continue;
      if (await job.isActive()) return false;
      try {
        await job.remove();
      } catch {
        return false; // it became active meanwhile
      }
    }
    return true;
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<DeliveryJob> {
    return startWorker(
      { ...ctx, prefix: this.prefix },
      QUEUE.eventDelivery,
      async (job: Job<DeliveryJob>, token?: string) => {
        const outcome = await this.deliver(deps, job.data.eventId);
        if (outcome.kind === 'retry') {
          // The same job, due when the schedule says; BullMQ does not count this as one of its attempts.
          await job.moveToDelayed(outcome.at.getTime(), token);
          throw new DelayedError();
        }
        return outcome.summary;
      },
      { concurrency: 16 },
    );
  }

  private delayAfter(failures: number): number {
    return this.retryDelaysMs[Math.min(Math.max(failures, 1), this.retryDelaysMs.length) - 1] ?? 0;
  }

  /** One delivery of one event to every target, as a summary (tests run it directly). */
  async run(deps: Deps, eventId: string): Promise<string> {
    return (await this.deliver(deps, eventId)).summary;
  }

  /**
   * One delivery of one event to every target. The database's attempt count alone decides the next retry and
   * the dead letter, so a lost and re-queued job, or a run that died before recording, never shortens or
   * stretches the schedule.
   */
  private async deliver(deps: Deps, eventId: string): Promise<DeliveryOutcome> {
    const event = await findEvent(deps.db, eventId);
    if (!event) return { kind: 'done', summary: 'no such event' };
    if (event.status === 'DELIVERED' || event.status === 'DEAD') return { kind: 'done', summary: `already ${event.status}` };
    const attempt = event.attempts + 1;
    const tries = [await this.toQueue(event)];
    if (this.webhook) tries.push(await this.toWebhook(event, this.webhook));
    for (const t of tries)
      deps.metrics.deliveries.inc({ target: t.target === 'webhook' ? 'webhook' : 'queue', result: t.ok ? 'ok' : 'failed' });
    const failed = tries.filter((t) => !t.ok);
    if (failed.length === 0) {
      await recordDelivery(deps.db, eventId, attempt, tries, { status: 'DELIVERED', lastError: null });
      return { kind: 'done', summary: 'delivered' };
    }
    const error = failed.map((t) => `${t.target}: ${t.detail}`).join('; ');
    if (attempt >= this.maxAttempts) {
      await recordDelivery(deps.db, eventId, attempt, tries, { status: 'DEAD', lastError: error });
      deps.metrics.deliveries.inc({ target: 'event', result: 'dead' });
      deps.log.error({ eventId, payNo: event.payNo, attempts: attempt, error }, 'event dead-lettered after its last delivery attempt');
      return { kind: 'done', summary: `dead-lettered after ${attempt} attempts: ${error}` };
    }
    const at = new Date(Date.now() + this.delayAfter(attempt));
    await recordDelivery(deps.db, eventId, attempt, tries, { status: 'QUEUED', lastError: error, nextAttemptAt: at });
    deps.log.warn({ eventId, payNo: event.payNo, attempt, next: at, error }, 'event delivery failed; will retry');
    return { kind: 'retry', at, summary: `delivery ${attempt} of ${this.maxAttempts} failed: ${error}` };
  }

  private async toQueue(event: DeliverableEvent): Promise<Try> {
    const target = `queue:${event.topic}`;
    return timed(target, async () => {
      await this.topic(event.topic).add('payment-event', event.payload, { jobId: event.id, ...TOPIC_JOB });
      return 'queued';
    });
  }

  private async toWebhook(event: DeliverableEvent, hook: WebhookTarget): Promise<Try> {
    return timed('webhook', async () => {
      const body = JSON.stringify(event.payload);
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [EVENT_ID_HEADER]: event.id, [SIGNATURE_HEADER]: signWebhook(hook.secret, body) },
        body,
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return `HTTP ${res.status}`;
    });
  }

  /** Where the order side's queues report connection errors (they would go to the console otherwise). */
  onQueueError: (err: Error) => void = () => undefined;

  /** The order side's queue for a topic; the most recently used MAX_TOPIC_QUEUES are kept open. */
  private topic(name: string): Queue {
    let q = this.topics.get(name);
    if (q) {
      this.topics.delete(name); // re-inserted below: the map's order is least recently used first
    } else {
      // Made again when its setup failed (queue-setup-recovers.test.ts): a topic's first delivery may come
      // while Redis restarts.
      q = new RenewingQueue(() => new Queue(name, { connection: this.connection, prefix: this.eventPrefix }));
      q.onError((err) => this.onQueueError(err));
      if (this.topics.size >= MAX_TOPIC_QUEUES) {
        const [oldest, queue] = this.topics.entries().next().value as [string, RenewingQueue<Queue>];
        this.topics.delete(oldest);
        void queue.close().catch(() => undefined);
      }
    }
    this.topics.set(name, q);
    return q.current;
  }

  override async close(): Promise<void> {
    await Promise.all([super.close(), ...[...this.topics.values()].map((q) => q.close())]);
  }
}

/** What queueClaimed did with a batch, by outcome; each group shares its attempt number and try. */
export interface ClaimedBatch {
  delivered: { attempt: number; ids: string[]; try: Try }[];
  retries: { attempt: number; ids: string[]; try: Try; error: string; at: Date }[];
  dead: { attempt: number; ids: string[]; try: Try; error: string }[];
}

/** Events by the attempt their delivery now makes (a claimed event has made `attempts` before). */
function groupByAttempt(events: ClaimedEvent[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const e of events) {
    const ids = groups.get(e.attempts + 1);
    if (ids) ids.push(e.id);
    else groups.set(e.attempts + 1, [e.id]);
  }
  return groups;
}

async function timed(target: string, fn: () => Promise<string>): Promise<Try> {
  const started = performance.now();
  try {
    const detail = await fn();
    return { target, ok: true, detail, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { target, ok: false, detail: (err as Error).message || String(err), durationMs: Math.round(performance.now() - started) };
  }
}
