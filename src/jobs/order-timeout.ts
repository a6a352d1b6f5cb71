import { DelayedError, Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import { expireDueOrders, expireOrder, type ExpireBatchOptions, type ExpireResult } from '../app/expire-order';
import type { DueCursor, OpenStatus } from '../repo/sweeps';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer } from './renewing-queue';
import { slotAt, slotJobOptions, SlotJobs } from './slot-jobs';

const SLOT_MS = 500;

/**
 * What a timeout job closes: unpaid orders with expire_at in (after, upTo] (epoch ms), never before their expiry.
 * A slot's job has both bounds; the sweep's backlog job only upTo. `cursor` and `failed` carry a long run
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

/**
 * One delayed job per expiry slot of SLOT_MS (half a second), not per order: the job id comes from the slot, so
 * every order due in it shares the job (adding it again is a no-op), and Redis holds one ~1 KB job per slot that
 * has orders, whatever their number. The job, due when its slot ends, closes every unpaid order with expire_at in
 * that slot, found by the (status, expire_at) index in batches. A failed close does not stop the others; the job
 * then retries its slot (only the orders still open), and the sweep takes what is left.
 *
 * Why half a second: an order is closed at most a slot after its expiry, plus the close itself (the earliest
 * expiry of a slot is closed first). Whole seconds left the close ~60-90 ms past the 1 s goal for the earliest
 * orders of each second (`npm run bench:timeouts`: p99 1,054 ms); half seconds cost twice the jobs, still ~3.5 MB
 * of Redis for 1 M orders over the default 30 minutes, ~165 MB if they spread over a whole day (the longest expiry).
 *
 * A completed job is removed, so an order scheduled into a slot whose job already ran (a clock behind the
 * workers') adds a fresh job that runs at once. What slips through anyway (an order committed while its slot's
 * job was finishing, a job lost with Redis) is overdue work for the sweep, which hands it to one backlog job.
 * Jobs of whole seconds still queued at an upgrade (`timeout-s<second>`) carry their own range and run as before.
 */
export class OrderTimeouts extends QueueProducer<Queue<TimeoutJob>> {
  private readonly slots = new SlotJobs(
    (slot, now) =>
      this.queue.add(
        'slot',
        { after: (slot - 1) * SLOT_MS, upTo: slot * SLOT_MS },
        slotJobOptions(OrderTimeouts.jobId(slot), slot * SLOT_MS, now),
      ),
    SLOT_MS,
  );

  constructor(
    connection: RedisClient,
    private readonly prefix: string,
    private readonly settings: TimeoutSettings = DEFAULT_TIMEOUT_SETTINGS,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(() => new Queue<TimeoutJob>(QUEUE.orderTimeout, { connection, prefix }));
  }

  /** How long a slot lasts: at most this long from an order's expiry until its slot's job fires. */
  static readonly slotMs = SLOT_MS;
  /** The slot whose job closes an order: the first slot ending at or after its expiry (slot n ends at n × SLOT_MS). */
  static slotOf = (expireAt: Date): number => slotAt(expireAt.getTime(), SLOT_MS);
  /** Named by the slot's end, epoch ms. */
  static jobId = (slot: number): string => `timeout-at${slot * SLOT_MS}`;
  static readonly backlogJobId = 'timeout-overdue';

  /** Undefined when the order's slot is known to have its job already (see SlotJobs.ensure). */
  schedule({ expireAt }: ExpiringOrder): Promise<void> | undefined {
    return this.slots.ensure(OrderTimeouts.slotOf(expireAt), this.now().getTime());
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

  private async process(deps: Deps, job: Job<TimeoutJob>, token?: string): Promise<string> {
    if (job.name === 'timeout') return this.runLegacy(deps, job as unknown as Job<{ tenantId: string; payNo: string }>, token);
    const { upTo, after } = job.data;
    const slot = job.name === 'slot' || job.name === 'second'; // 'second': a whole second's job from before the upgrade
    if (deps.now().getTime() < upTo && slot) {
      // Fired early (clock skew between instances): wait for the slot to end rather than close payable orders.
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
    if (failed > 0 && slot) {
      await job.updateData({ upTo, after }); // the retry goes over the slot again: only its still-open orders
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
