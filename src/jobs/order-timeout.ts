import { DelayedError, Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import { expireDueOrders, expireOrder, type ExpireBatchOptions, type ExpireResult } from '../app/expire-order';
import type { DueCursor, OpenStatus } from '../repo/sweeps';
import { QUEUE, startWorker, type WorkerContext } from './queues';

/**
 * What a timeout job closes: unpaid orders with expire_at in (after, upTo] (epoch ms), never before their expiry.
 * A second's job has both bounds; the sweep's backlog job only upTo. `cursor` and `failed` carry a long run
 * from one step to the next.
 */
export interface TimeoutJob {
  upTo: number;
  after?: number;
  cursor?: { status: OpenStatus; expireAt: number; id: string };
  failed?: number;
}

/** The order-side identity a timeout needs; the job reads the orders themselves from the database. */
export interface ExpiringOrder {
  tenantId: string;
  payNo: string;
  expireAt: Date;
}

export interface TimeoutSettings extends ExpireBatchOptions {
  /** Timeout jobs one worker process runs at once (each closes up to `parallel` orders at once). */
  workerConcurrency: number;
}

export const DEFAULT_TIMEOUT_SETTINGS: TimeoutSettings = { batch: 200, parallel: 4, budgetMs: 5000, workerConcurrency: 2 };

/** How long this process trusts that it added a second's job, and how far ahead that second must still be. */
const REMEMBER_MS = 10_000;
const REMEMBER_AHEAD_MS = 2000;
const REMEMBER_MAX = 10_000;

/**
 * One delayed job per expiry second, not per order: the job id comes from the second, so every order due in it
 * shares the job (adding it again is a no-op), and Redis holds one ~1 KB job per second that has orders, whatever
 * their number. The job, due at the end of its second, closes every unpaid order with expire_at in that second,
 * found by the (status, expire_at) index in batches. A failed close does not stop the others; the job then
 * retries its second (only the orders still open), and the sweep takes what is left.
 *
 * A completed job is removed, so an order scheduled into a second whose job already ran (a clock behind the
 * workers') adds a fresh job that runs at once. What slips through anyway (an order committed while its second's
 * job was finishing, a job lost with Redis) is overdue work for the sweep, which hands it to one backlog job.
 */
export class OrderTimeouts {
  /** Read by the operators' queue board; jobs are added through the methods below only. */
  readonly queue: Queue<TimeoutJob>;
  /** Seconds whose job this process added lately (a second's orders come in a burst): skips the Redis call. */
  private readonly added = new Map<number, { at: number; done: Promise<void> }>();

  constructor(
    connection: RedisClient,
    private readonly prefix: string,
    private readonly settings: TimeoutSettings = DEFAULT_TIMEOUT_SETTINGS,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.queue = new Queue<TimeoutJob>(QUEUE.orderTimeout, { connection, prefix });
  }

  /** The second whose job closes an order: the first whole second at or after its expiry. */
  static secondOf = (expireAt: Date): number => Math.ceil(expireAt.getTime() / 1000);
  static jobId = (second: number): string => `timeout-s${second}`;
  static readonly backlogJobId = 'timeout-overdue';

  async schedule({ expireAt }: ExpiringOrder): Promise<void> {
    const second = OrderTimeouts.secondOf(expireAt);
    const now = this.now().getTime();
    const lately = this.added.get(second);
    if (lately && now - lately.at < REMEMBER_MS && second * 1000 - now > REMEMBER_AHEAD_MS) return lately.done;
    const done = this.add(second, now);
    // Remembered while in flight too: a burst of orders due in one second waits on one add, not one each.
    if (second * 1000 - now > REMEMBER_AHEAD_MS) this.remember(second, { at: now, done });
    await done;
  }

  private async add(second: number, now: number): Promise<void> {
    try {
      await this.queue.add(
        'second',
        { after: (second - 1) * 1000, upTo: second * 1000 },
        {
          jobId: OrderTimeouts.jobId(second),
          // The job's own timestamp is the same instant its delay was computed from, so it is due exactly when the
          // second ends (BullMQ would otherwise read the clock again, a millisecond or more later).
          timestamp: now,
          delay: Math.max(0, second * 1000 - now),
          attempts: 5,
          backoff: { type: 'exponential', delay: 10_000 },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    } catch (err) {
      this.added.delete(second); // the next order of this second tries again
      throw err;
    }
  }

  /** The sweep's hand-back: one job (across instances) closes every unpaid order expired before `before`, in steps. */
  async expireOverdue(before: Date): Promise<void> {
    await this.queue.add(
      'overdue',
      { upTo: before.getTime() },
      { jobId: OrderTimeouts.backlogJobId, removeOnComplete: true, removeOnFail: true },
    );
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<TimeoutJob> {
    return startWorker<TimeoutJob, string>(
      { ...ctx, prefix: this.prefix },
      QUEUE.orderTimeout,
      (job: Job<TimeoutJob>, token) => this.process(deps, job, token),
      { concurrency: this.settings.workerConcurrency },
    );
  }

  /** Expires one order if it is due and still unpaid (what a job does for each order it finds); safe to run twice. */
  run(deps: Deps, { tenantId, payNo }: { tenantId: string; payNo: string }): Promise<ExpireResult> {
    return expireOrder(deps, tenantId, payNo);
  }

  close(): Promise<void> {
    return this.queue.close();
  }

  private async process(deps: Deps, job: Job<TimeoutJob>, token?: string): Promise<string> {
    if (job.name === 'timeout') return this.runLegacy(deps, job as unknown as Job<{ tenantId: string; payNo: string }>, token);
    const { upTo, after } = job.data;
    if (deps.now().getTime() < upTo && job.name === 'second') {
      // Fired early (clock skew between instances): wait for the second to end rather than close payable orders.
      await job.moveToDelayed(upTo, token);
      throw new DelayedError();
    }
    const range = { upTo: new Date(upTo), after: after === undefined ? undefined : new Date(after) };
    let { cursor, failed = 0 } = job.data;
    let done = 0;
    // Steps of TIMEOUT_STEP_MS in one run; after each, the job keeps its cursor, so a run cut short (a crash, a
    // forced shutdown) goes on from there on any worker. Not a move to delayed at "now" per step: the worker's
    // other slot took the job at once, and the first run's clean-up then stopped renewing the lock of the job id,
    // the new run's (BullMQ tracks running jobs by id): a step longer than JOB_LOCK_MS lost it, and the backlog
    // job of a 100,000-order backlog failed as stalled (order-timeout-steps.test.ts).
    for (;;) {
      const report = await expireDueOrders(deps, range, this.settings, cursor && fromJson(cursor));
      failed += report.failed;
      done += report.done;
      if (!report.cursor) break;
      cursor = toJson(report.cursor);
      await job.updateData({ ...job.data, cursor, failed });
    }
    if (failed > 0 && job.name === 'second') {
      await job.updateData({ upTo, after }); // the retry goes over the second again: only its still-open orders
      throw new Error(`${failed} orders due by ${new Date(upTo).toISOString()} could not be closed`);
    }
    return `${done} orders expired, ${failed} left to retry`;
  }

  /** A per-order job queued before the per-second ones (still in Redis at deploy): the order alone, as it was. */
  private async runLegacy(deps: Deps, job: Job<{ tenantId: string; payNo: string }>, token?: string): Promise<string> {
    const result = await this.run(deps, job.data);
    if (result.kind === 'done') return `order is ${result.status}`;
    await job.moveToDelayed(result.dueAt.getTime(), token);
    throw new DelayedError();
  }

  private remember(second: number, entry: { at: number; done: Promise<void> }): void {
    if (this.added.size >= REMEMBER_MAX) {
      for (const [s, { at }] of this.added)
        if (entry.at - at >= REMEMBER_MS || s * 1000 - entry.at <= REMEMBER_AHEAD_MS) this.added.delete(s);
      if (this.added.size >= REMEMBER_MAX) this.added.clear();
    }
    this.added.set(second, entry);
  }
}

const toJson = (c: DueCursor): NonNullable<TimeoutJob['cursor']> => ({
  status: c.status,
  expireAt: c.expireAt.getTime(),
  id: String(c.id),
});
const fromJson = (c: NonNullable<TimeoutJob['cursor']>): DueCursor => ({
  status: c.status,
  expireAt: new Date(c.expireAt),
  id: BigInt(c.id),
});
