import { Queue, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import type { Logger } from '../infra/logger';
import { findStaleQueuedEvents, outboxBacklog, touchQueued } from '../repo/outbox';
import {
  countOverdueOrders,
  findStaleAttempts,
  findStalePendingRefunds,
  findDuplicateRefundsToRetry,
  findUnrefundedPaidAfterClose,
  stampAttempts,
  stampRefunds,
} from '../repo/sweeps';
import type { EventDeliveries } from './event-delivery';
import type { OrderTimeouts } from './order-timeout';
import { automaticRefundTries } from '../domain/automatic-refunds';
import type { AutomaticRefunds } from './automatic-refunds';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer } from './renewing-queue';
import type { StatusSync } from './status-sync';

const BATCH = 200;
const SCHEDULER_ID = 'sweep';
/** A sweep this overdue with nobody running it means the workers are stuck (at least; 3 intervals by default). */
const MIN_WEDGED_AFTER_MS = 10_000;

export interface SweepSettings {
  intervalMs: number;
  /** How late an order's own timeout job may be before the sweep takes over. */
  graceMs: number;
  /** How long an unpaid attempt or pending refund may go unasked before the sweep asks the channel. */
  syncTailMs: number;
  /** How overdue a queued event's (re)try may be before it counts as lost. */
  outboxStaleMs: number;
}

export interface SweepReport {
  /** Unpaid orders found past their expiry and grace (counted up to 200), handed to the backlog job. */
  overdueOrders: number;
  staleAttempts: number;
  staleRefunds: number;
  paidAfterClose: number;
  /** Duplicate payments whose failed automatic refund had no next try under way, handed to their job. */
  duplicateRefunds: number;
  requeuedEvents: number;
}

/**
 * The seeds' fallback scan, as one repeatable BullMQ job (a job scheduler, so N instances run it once per
 * interval between them). It hands work whose job was lost back to the job that owns it: overdue unpaid
 * orders to the timeouts' backlog job, long-unasked attempts and refunds to status sync, stuck queued events to delivery,
 * and automatic refunds not under way (a payment after close never refunded, a failed try with tries left) to their job. Everything it does is idempotent.
 */
export class Sweeper extends QueueProducer<Queue> {
  private recheck?: NodeJS.Timeout;

  constructor(
    connection: RedisClient,
    private readonly prefix: string,
    private readonly settings: SweepSettings,
    private readonly jobs: {
      timeouts: OrderTimeouts;
      statusSync: StatusSync;
      deliveries: EventDeliveries;
      automaticRefunds: AutomaticRefunds;
    },
  ) {
    super(() => new Queue(QUEUE.maintenance, { connection, prefix }));
  }

  /**
   * Puts the sweep's schedule in Redis, then checks it every interval from every worker process and puts it back
   * when it is gone: a Redis that lost its data (FLUSHALL, a failover without persistence) takes the scheduler
   * with every timeout job, and the sweep is what closes their orders. So the schedule is back within one
   * SWEEP_INTERVAL_MS of Redis answering again, and that first sweep runs at once. Concurrent re-assertions are
   * harmless: upsertJobScheduler is idempotent on the scheduler id.
   *
   * The same check notices workers that stopped taking jobs: a sweep overdue by `wedgedAfterMs` that no worker
   * is running, or a job of another queue that has waited that long with no job of its queue running. BullMQ's
   * workers on a Redis Cluster can stay blocked after a failover with every connection ready and no error (seen
   * in test/cluster/redis-cluster.test.ts about one run in four; the sweep's worker is not always the one stuck:
   * a CI run saw the sweep hand overdue orders to the backlog job that no timeout worker took). Then `onWedged`
   * replaces this process's workers, as a restart of the process would.
   */
  async start(log?: Logger, onWedged?: () => Promise<void>): Promise<void> {
    await this.assertSchedule();
    const wedgedAfterMs = Math.max(3 * this.settings.intervalMs, MIN_WEDGED_AFTER_MS);
    let checking = false;
    let replacedAt = 0;
    /** The overdue run the previous check saw unclaimed: workers are replaced only when two checks in a row see it. */
    let suspect: number | undefined;
    /** Jobs (queue:id) the previous check saw waiting too long with nothing of their queue running. */
    let suspectJobs = new Set<string>();
    const replace = async (why: object) => {
      suspect = undefined;
      suspectJobs = new Set();
      log?.warn({ ...why }, 'no worker took a due job (workers stuck after a Redis failover?); replacing the workers');
      replacedAt = Date.now();
      await onWedged?.();
    };
    const recheck = async () => {
      const scheduler = await this.queue.getJobScheduler(SCHEDULER_ID);
      if (!scheduler) {
        await this.assertSchedule();
        log?.warn({ queue: QUEUE.maintenance }, 'the sweep schedule was gone from Redis (data lost?); put it back');
        return;
      }
      if (onWedged === undefined) return;
      const next = Number(scheduler.next);
      const overdueMs = Date.now() - Math.max(next, replacedAt);
      // Not wedged: a queue an operator paused, a run in progress, or one a worker takes between two checks (after
      // an outage the first check can come before the worker's fetch); the same run unclaimed twice is.
      const unclaimed = overdueMs > wedgedAfterMs && !(await this.queue.isPaused()) && (await this.queue.getActiveCount()) === 0;
      if (unclaimed && suspect === next) return replace({ queue: QUEUE.maintenance, overdueMs });
      suspect = unclaimed ? next : undefined;
      // The same for the other queues: the oldest waiting job, due longer than wedgedAfterMs ago (and than the
      // last replacement), with nothing of its queue running, on two checks in a row.
      const waiting = await this.unclaimedJobs(wedgedAfterMs, replacedAt);
      const again = [...waiting].find((job) => suspectJobs.has(job));
      if (again) return replace({ job: again });
      suspectJobs = waiting;
    };
    this.recheck = setInterval(() => {
      if (checking) return;
      checking = true;
      void recheck()
        .catch(() => undefined)
        .finally(() => (checking = false));
    }, this.settings.intervalMs);
    this.recheck.unref();
  }

  /**
   * `queue:jobId` of each watched queue's oldest waiting job, if it has been due for over `minAgeMs` (counted from
   * `since` at the earliest) with nothing of its queue running.
   */
  private async unclaimedJobs(minAgeMs: number, since: number): Promise<Set<string>> {
    const found = new Set<string>();
    const { timeouts, statusSync, deliveries, automaticRefunds } = this.jobs;
    for (const queue of [timeouts.queue, statusSync.queue, deliveries.queue, automaticRefunds.queue] as Queue[]) {
      const [oldest] = await queue.getJobs(['waiting'], 0, 0, true);
      if (!oldest?.id || Date.now() - Math.max(oldest.timestamp + (oldest.delay ?? 0), since) <= minAgeMs) continue;
      if ((await queue.getActiveCount()) > 0 || (await queue.isPaused())) continue;
      found.add(`${queue.name}:${oldest.id}`);
    }
    return found;
  }

  private assertSchedule(): Promise<unknown> {
    return this.queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: this.settings.intervalMs },
      { name: 'sweep', opts: { removeOnComplete: true, removeOnFail: true } },
    );
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker {
    return startWorker({ ...ctx, prefix: this.prefix }, QUEUE.maintenance, async () => JSON.stringify(await this.run(deps)), {
      concurrency: 1,
    });
  }

  async run(deps: Deps): Promise<SweepReport> {
    const now = deps.now().getTime();
    const { timeouts, statusSync, deliveries } = this.jobs;

    // Overdue orders go to one backlog job that closes them in batches (a Redis loss leaves them all at once).
    const overdueBefore = new Date(now - this.settings.graceMs);
    const overdue = await countOverdueOrders(deps.db, overdueBefore, BATCH);
    if (overdue > 0) await timeouts.expireOverdue(overdueBefore);

    // Stamped as asked when scheduled, so one whose query keeps failing waits a tail interval, not every sweep.
    const attempts = await findStaleAttempts(deps.db, new Date(now - this.settings.syncTailMs), BATCH);
    for (const a of attempts) await statusSync.schedule(a, statusSync.tailRound);
    await stampAttempts(deps.db, attempts);

    const refunds = await findStalePendingRefunds(deps.db, new Date(now - this.settings.syncTailMs), BATCH);
    for (const r of refunds) await statusSync.scheduleRefund(r, statusSync.tailRound);
    await stampRefunds(deps.db, refunds);

    // Automatic refunds not under way: never started, or failed with tries left (the job waits out each try's delay).
    const tries = automaticRefundTries(deps.automaticRefundRetryDelaysMs);
    const settled = new Date(now - this.settings.graceMs);
    const unrefunded = deps.paidAfterClose === 'refund' ? await findUnrefundedPaidAfterClose(deps.db, settled, BATCH, tries) : [];
    for (const o of unrefunded) await this.jobs.automaticRefunds.schedule({ tenantId: o.tenantId, payNo: o.payNo });
    const duplicates = await findDuplicateRefundsToRetry(deps.db, settled, BATCH, tries);
    for (const d of duplicates) await this.jobs.automaticRefunds.schedule(d);

    const stale = await findStaleQueuedEvents(deps.db, new Date(now - this.settings.outboxStaleMs), BATCH);
    await deliveries.requeue(stale);
    await touchQueued(deps.db, stale);

    const backlog = await outboxBacklog(deps.db);
    for (const s of ['PENDING', 'QUEUED', 'DEAD']) deps.metrics.outboxBacklog.set({ status: s }, backlog.counts[s] ?? 0);
    deps.metrics.outboxLag.set(backlog.oldest ? Math.max(0, (now - backlog.oldest.getTime()) / 1000) : 0);

    const report = {
      overdueOrders: overdue,
      staleAttempts: attempts.length,
      staleRefunds: refunds.length,
      paidAfterClose: unrefunded.length,
      duplicateRefunds: duplicates.length,
      requeuedEvents: stale.length,
    };
    if (Object.values(report).some((n) => n > 0)) deps.log.info(report, 'sweep handed lost work back');
    return report;
  }

  /** Stops the schedule check (and with it any replacing of workers): the first step of a shutdown. */
  stopChecks(): void {
    clearInterval(this.recheck);
  }

  override close(): Promise<void> {
    this.stopChecks();
    return super.close();
  }
}
