import { Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { randomUUID } from 'node:crypto';
import type { Deps } from '../app/deps';
import { reconcileDay, type ReconcileRequest, type ReconRun } from '../app/reconcile';
import { ConcurrencyError, FailedPreconditionError, NotFoundError } from '../domain/errors';
import { beijingDay, dayBefore, localTimeOfDay } from '../domain/statement-days';
import { accountsToReconcile, dayIsDone } from '../repo/reconciliation-queries';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer } from './renewing-queue';

/** The engine a run job calls: reconcileDay, or a test double. */
export type ReconcileEngine = (deps: Deps, req: ReconcileRequest) => Promise<ReconRun>;

/** One run of one (tenant, channel, day); `tryNo` 0 is the first. */
export interface ReconcileRunJob {
  tenantId: string;
  channel: string;
  day: string;
  actor: string;
  /** Started by an operator: runs even when the day is DONE, and a statement not ready is not asked again. */
  manual: boolean;
  tryNo: number;
  /**
   * Waits for a RUNNING run of the day so far. They do not spend tries: the engine takes a run over once it is
   * older than RECONCILE_STALE_MS, so waiting ends by itself, and a dead run must not use up the day's tries first.
   */
  busy?: number;
  /** The first try's job id; later tries are `<key>-try<n>`, waits for a running run `<key>[-try<n>]-busy<m>`. */
  key: string;
}

export interface ReconcileSettings {
  enabled: boolean;
  /** HH:mm in `timeZone`. */
  at: string;
  timeZone: string;
  /** Waits before each later try of a day whose statement was not ready (or whose run failed). */
  retryDelaysMs: readonly number[];
  /** Wait before trying again when a run of the same day was RUNNING. */
  busyDelayMs: number;
  /** How often each worker process checks that the daily schedule is still in Redis (and puts it back). */
  reassertMs: number;
}

export const RECONCILE_ACTOR = 'system:reconcile';
const SCHEDULER_ID = 'reconcile-daily';
const DAILY = 'daily';
const RUN = 'run';
/** Attempts of a job that failed unexpectedly: 1, 2, 4 … 64 min apart, about two hours in all. */
const UNEXPECTED_ATTEMPTS = 8;

/**
 * Statement reconciliation on a schedule (issue 15). A job scheduler fires the `daily` job at RECONCILE_AT in
 * RECONCILE_TIME_ZONE; it enqueues one `run` job per (tenant, channel with statements and an account) for the
 * previous Beijing day, under a job id from (channel, day, tenant), so a second enqueue of the day collapses.
 * A run job skips a day already DONE, calls the engine, and asks again later (a new job, `-try<n>`, on
 * RECONCILE_RETRY_DELAYS_MS) while the statement is not ready or the run failed; after the last try it gives the
 * day up (an error log line and paysvc_reconcile_given_up_total). An operator's run (StartReconciliation) always
 * runs, under an id of its own, and is tried again only while a run of the day is RUNNING.
 *
 * The schedule lives in Redis: a Redis that lost its data (a FLUSHALL, a failover without persistence) would
 * lose it silently (issue 16). So every worker process checks it every `reassertMs` and puts it back, and if it
 * had to, and the day's time has passed, enqueues the day at once (idempotent: DONE days are skipped).
 */
export class Reconciliation extends QueueProducer<Queue<ReconcileRunJob | Record<string, never>>> {
  private timer?: NodeJS.Timeout;
  private asserted = false;

  constructor(
    connection: RedisClient,
    private readonly prefix: string,
    private readonly settings: ReconcileSettings,
    private readonly engine: ReconcileEngine = reconcileDay,
  ) {
    super(() => new Queue(QUEUE.reconciliation, { connection, prefix }));
  }

  /** Never all digits, never a colon (BullMQ's rules for custom ids); the channel has no '-', the day a fixed width. */
  static jobId = (r: { tenantId: string; channel: string; day: string }): string => `recon-${r.channel}-${r.day}-${r.tenantId}`;

  /** Puts the daily schedule in place (where workers run) and keeps it there; nothing when RECONCILE_ENABLED is off. */
  async start(deps: Deps): Promise<void> {
    if (!this.settings.enabled) return;
    await this.assertSchedule(deps);
    this.timer = setInterval(() => {
      this.assertSchedule(deps).catch((err: unknown) => deps.log.warn({ err }, 'could not check the reconciliation schedule'));
    }, this.settings.reassertMs);
    this.timer.unref();
  }

  /**
   * Creates the daily schedule if Redis lacks it (or has it at another time); true when it had to. Once this
   * process had put it in place, a missing schedule means Redis lost it: then a day whose time has passed is
   * enqueued at once.
   */
  async assertSchedule(deps: Pick<Deps, 'db' | 'channels' | 'log' | 'now'>): Promise<boolean> {
    const [hh, mm] = this.settings.at.split(':').map(Number);
    const pattern = `${mm} ${hh} * * *`;
    const current = await this.queue.getJobScheduler(SCHEDULER_ID);
    if (current?.pattern === pattern && current.tz === this.settings.timeZone) {
      this.asserted = true;
      return false;
    }
    // Missing, or set by a deployment with another RECONCILE_AT or RECONCILE_TIME_ZONE: this one's settings win.
    await this.queue.upsertJobScheduler(
      SCHEDULER_ID,
      { pattern, tz: this.settings.timeZone },
      // The day's fan-out is tried again on a failure (its enqueues are idempotent): one blip at RECONCILE_AT must
      // not lose the day for every tenant.
      {
        name: DAILY,
        data: {},
        opts: {
          removeOnComplete: true,
          removeOnFail: { count: 100 },
          attempts: UNEXPECTED_ATTEMPTS,
          backoff: { type: 'exponential', delay: 60_000 },
        },
      },
    );
    if (this.asserted && !current) {
      deps.log.warn({ scheduler: SCHEDULER_ID }, 'the daily reconciliation schedule was missing from Redis (data lost?); put back');
      if (localTimeOfDay(deps.now(), this.settings.timeZone) >= this.settings.at) await this.enqueueDaily(deps);
    }
    this.asserted = true;
    return true;
  }

  /** The daily job: one run per (tenant, channel) for the previous Beijing day; returns the job ids. */
  async enqueueDaily(deps: Pick<Deps, 'db' | 'channels' | 'log' | 'now'>): Promise<string[]> {
    const day = dayBefore(beijingDay(deps.now()));
    const targets = await accountsToReconcile(deps.db, deps.channels.withStatements());
    const ids: string[] = [];
    for (const t of targets) ids.push(await this.enqueueScheduled({ ...t, day }));
    deps.log.info({ day, runs: ids.length }, 'daily reconciliation queued');
    return ids;
  }

  /** The daily job's run of one (tenant, channel, day), under the id from all three: queued once however often asked. */
  async enqueueScheduled(r: { tenantId: string; channel: string; day: string }): Promise<string> {
    const key = Reconciliation.jobId(r);
    await this.add({ tenantId: r.tenantId, channel: r.channel, day: r.day, actor: RECONCILE_ACTOR, manual: false, tryNo: 0, key }, 0);
    return key;
  }

  /** An operator's run: queued at once under an id of its own, so it runs whatever ran before. */
  async startManual(r: { tenantId: string; channel: string; day: string; actor: string }): Promise<{ jobId: string }> {
    const key = `${Reconciliation.jobId(r)}-manual-${randomUUID()}`;
    await this.add({ ...r, manual: true, tryNo: 0, key }, 0);
    return { jobId: key };
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker {
    const worker = startWorker<ReconcileRunJob | Record<string, never>, string>(
      { ...ctx, prefix: this.prefix },
      QUEUE.reconciliation,
      async (job: Job<ReconcileRunJob | Record<string, never>>) =>
        job.name === DAILY ? `queued ${(await this.enqueueDaily(deps)).length} runs` : this.run(deps, job.data as ReconcileRunJob),
      // One day at a time per process: a run holds a connection of its own and two more per batch, out of the pool
      // the RPCs use (a million-line day takes under a minute).
      { concurrency: 1 },
    );
    // Its last attempt failed unexpectedly: the day (or, for the daily job, every tenant's day) is given up, loudly.
    worker.on('failed', (job, err) => {
      if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
      const data = job.data as Partial<ReconcileRunJob>;
      deps.metrics.reconGivenUp.inc({ channel: data.channel ?? 'all' });
      deps.log.error({ err, job: job.id, day: data.day, tenantId: data.tenantId }, 'reconciliation given up after its last attempt failed');
    });
    return worker;
  }

  /** One try of one day: what it did, in words (the job's return value). */
  async run(deps: Deps, job: ReconcileRunJob): Promise<string> {
    const subject = { tenantId: job.tenantId, channel: job.channel, day: job.day, tryNo: job.tryNo, manual: job.manual };
    if (!job.manual && (await dayIsDone(deps.db, job.tenantId, job.channel, job.day))) return 'day already DONE; skipped';
    let run: ReconRun;
    try {
      run = await this.engine(deps, { tenantId: job.tenantId, channel: job.channel, day: job.day, actor: job.actor });
    } catch (err) {
      if (err instanceof ConcurrencyError) return this.afterRunning(deps, job);
      // The tenant or its account went away since the job was queued: nothing to reconcile, nothing to retry.
      if (err instanceof NotFoundError || err instanceof FailedPreconditionError) {
        deps.log.warn({ ...subject, err }, 'reconciliation skipped');
        return `skipped: ${err.message}`;
      }
      throw err; // unexpected: BullMQ's attempts and backoff
    }
    const outcome = { ...subject, runId: run.id.toString(), status: run.status };
    if (run.status === 'DONE') return `run ${run.id} DONE: ${run.differences} differences, ${run.applied} applied`;
    if (run.status === 'FAILED') deps.log.warn({ ...outcome, error: run.error }, 'reconciliation run failed');
    // An operator sees the run in ListReconciliationRuns and decides; only the daily job asks again by itself.
    if (job.manual) return `run ${run.id} ${run.status} (an operator's run is not tried again)`;
    return this.later(deps, job, `run ${run.id} ${run.status}`, this.settings.retryDelaysMs[job.tryNo]);
  }

  /** The same try again after RECONCILE_BUSY_DELAY_MS, for as long as a live run of the day holds it (see `busy`). */
  private async afterRunning(deps: Deps, job: ReconcileRunJob): Promise<string> {
    const busy = (job.busy ?? 0) + 1;
    await this.add({ ...job, busy }, this.settings.busyDelayMs);
    deps.log.info({ tenantId: job.tenantId, channel: job.channel, day: job.day, busy }, 'a run of the day is RUNNING; waiting for it');
    return `a run of the day is RUNNING; asking again in ${this.settings.busyDelayMs} ms`;
  }

  /** The next try after `delayMs`, or, once the schedule is spent, the day given up. */
  private async later(deps: Deps, job: ReconcileRunJob, why: string, delayMs: number | undefined): Promise<string> {
    const subject = { tenantId: job.tenantId, channel: job.channel, day: job.day, tryNo: job.tryNo, manual: job.manual };
    if (job.tryNo >= this.settings.retryDelaysMs.length || delayMs === undefined) {
      deps.metrics.reconGivenUp.inc({ channel: job.channel });
      deps.log.error({ ...subject, why }, 'reconciliation given up: the day stays unreconciled until someone starts a run');
      return `${why}; given up after ${job.tryNo + 1} tries`;
    }
    await this.add({ ...job, tryNo: job.tryNo + 1, busy: 0 }, delayMs);
    deps.log.info({ ...subject, why, delayMs }, 'reconciliation will try again');
    return `${why}; try ${job.tryNo + 2} in ${delayMs} ms`;
  }

  private async add(job: ReconcileRunJob, delay: number): Promise<void> {
    await this.queue.add(RUN, job, {
      jobId: `${job.key}${job.tryNo === 0 ? '' : `-try${job.tryNo}`}${job.busy ? `-busy${job.busy}` : ''}`,
      delay,
      // An unexpected failure (the database away for a while) is tried again for about two hours before the
      // worker gives the day up (see worker()).
      attempts: UNEXPECTED_ATTEMPTS,
      backoff: { type: 'exponential', delay: 60_000 },
      // Kept a day, so the day's ids stay taken (a second daily enqueue collapses) and the board shows them.
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  override async close(): Promise<void> {
    clearInterval(this.timer);
    await super.close();
  }
}
