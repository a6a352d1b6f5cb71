import type { Queue, Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import type { Config } from '../config';
import type { Logger } from '../infra/logger';
import { throttled } from '../infra/throttled';
import { withTimeout } from '../infra/with-timeout';
import { EventDeliveries } from './event-delivery';
import { OrderTimeouts } from './order-timeout';
import { OutboxRelay } from './outbox-relay';
import { AutomaticRefunds } from './automatic-refunds';
import { Reconciliation } from './reconciliation';
import { StatsFolder } from './stats-fold';
import { stopWorkers } from './queues';
import { StatusSync } from './status-sync';
import { Sweeper } from './sweeper';
import type { RenewingQueue } from './renewing-queue';

/** How long a run waits when a run of the same day is RUNNING (a run takes seconds to minutes). */
const RECONCILE_BUSY_DELAY_MS = 60_000;

/**
 * Every background job of the service. Producers (the queues) exist in every process; workers, the outbox
 * relay and the sweep's scheduler only where WORKERS_ENABLED, so gRPC-only replicas can be added freely.
 */
export class Jobs {
  readonly statusSync: StatusSync;
  readonly timeouts: OrderTimeouts;
  readonly deliveries: EventDeliveries;
  readonly sweeper: Sweeper;
  readonly automaticRefunds: AutomaticRefunds;
  readonly reconciliation: Reconciliation;
  private relay?: OutboxRelay;
  private folder?: StatsFolder;
  private workers: Worker[] = [];
  /** Replaced workers still closing (replaceWorkers); each leaves the set when it has closed. */
  private readonly retiring = new Set<Promise<void>>();
  private closing = false;

  constructor(
    private readonly config: Config,
    /** The workers' blocking connection (waits out a Redis outage). */
    private readonly connection: RedisClient,
    /** The producers' connection (fails fast while Redis is down, so a request is never held by an add). */
    producer: RedisClient = connection,
  ) {
    const prefix = config.QUEUE_PREFIX;
    this.statusSync = new StatusSync(producer, config.STATUS_SYNC_DELAYS_MS, prefix);
    this.timeouts = new OrderTimeouts(producer, prefix, {
      batch: config.TIMEOUT_BATCH_SIZE,
      parallel: config.TIMEOUT_CLOSE_CONCURRENCY,
      budgetMs: config.TIMEOUT_STEP_MS,
      workerConcurrency: config.TIMEOUT_WORKER_CONCURRENCY,
    });
    this.automaticRefunds = new AutomaticRefunds(producer, prefix);
    this.reconciliation = new Reconciliation(producer, prefix, {
      enabled: config.RECONCILE_ENABLED,
      at: config.RECONCILE_AT,
      timeZone: config.RECONCILE_TIME_ZONE,
      retryDelaysMs: config.RECONCILE_RETRY_DELAYS_MS,
      busyDelayMs: RECONCILE_BUSY_DELAY_MS,
      reassertMs: config.SWEEP_INTERVAL_MS,
    });
    const webhook = config.EVENT_WEBHOOK_URL
      ? { url: config.EVENT_WEBHOOK_URL, secret: config.EVENT_WEBHOOK_SECRET ?? '', timeoutMs: config.EVENT_WEBHOOK_TIMEOUT_MS }
      : undefined;
    this.deliveries = new EventDeliveries(producer, prefix, config.EVENT_QUEUE_PREFIX, config.EVENT_RETRY_DELAYS_MS, webhook);
    this.sweeper = new Sweeper(
      producer,
      prefix,
      {
        intervalMs: config.SWEEP_INTERVAL_MS,
        graceMs: config.SWEEP_GRACE_MS,
        syncTailMs: config.STATUS_SYNC_TAIL_MS,
        outboxStaleMs: config.OUTBOX_STALE_MS,
      },
      this,
    );
  }

  /** Routes the queues' connection errors to the log (BullMQ prints them to the console otherwise). */
  reportErrors(log: Logger): void {
    const warn = throttled((err: Error) => log.warn({ err }, 'BullMQ queue error (Redis unreachable?)'));
    for (const p of this.producers()) p.onError(warn);
    this.deliveries.onQueueError = warn;
  }

  /** The internal queues (not the order side's topics), for the operators' queue board. */
  queues(): Queue[] {
    return this.producers().map((p) => p.current);
  }

  private producers(): RenewingQueue<Queue>[] {
    return [
      this.statusSync.producer,
      this.timeouts.producer,
      this.deliveries.producer,
      this.sweeper.producer,
      this.automaticRefunds.producer,
      this.reconciliation.producer,
    ] as RenewingQueue<Queue>[];
  }

  async startWorkers(deps: Deps): Promise<void> {
    this.workers = this.createWorkers(deps);
    await this.sweeper.start(deps.log, () => this.replaceWorkers(deps));
    await this.reconciliation.start(deps);
    this.relay = new OutboxRelay(deps.db, this.deliveries, deps.log, deps.metrics, this.config.OUTBOX_POLL_MS);
    this.relay.start();
    this.folder = new StatsFolder(deps.db, deps.log, this.config.STATS_FOLD_MS);
    this.folder.start();
  }

  private createWorkers(deps: Deps): Worker[] {
    const stall = { lockMs: this.config.JOB_LOCK_MS, checkMs: this.config.JOB_STALLED_CHECK_MS };
    const ctx = { connection: this.connection, log: deps.log, metrics: deps.metrics, stall };
    return [
      this.statusSync.worker(deps, ctx),
      this.timeouts.worker(deps, ctx),
      this.deliveries.worker(deps, ctx),
      this.sweeper.worker(deps, ctx),
      this.automaticRefunds.worker(deps, ctx),
      this.reconciliation.worker(deps, ctx),
    ];
  }

  /**
   * New workers (each with a fresh blocking connection) in place of stuck ones, which are closed without waiting
   * for their jobs (every job is idempotent; a job they held runs again after its lock lapses). A stuck worker
   * may not close at all: close() gives it up after the grace.
   */
  private replaceWorkers(deps: Deps): Promise<void> {
    // Never once closing has begun: workers made now would outlive close() (found in review).
    if (this.closing) return Promise.resolve();
    const stuck = this.workers;
    this.workers = this.createWorkers(deps);
    const retired: Promise<void> = stopWorkers(stuck, 0).then(
      () => undefined,
      () => undefined,
    );
    this.retiring.add(retired);
    void retired.finally(() => this.retiring.delete(retired));
    return Promise.resolve();
  }

  /**
   * Stops taking work, lets running jobs finish for up to SHUTDOWN_GRACE_MS, then closes the queues. A job still
   * running then (one waiting on a Redis that went away, say) is cut: every job is idempotent, and BullMQ's
   * stalled-job check hands it to another worker, so a stop never hangs on Redis.
   */
  async close(log?: Logger): Promise<void> {
    this.closing = true;
    this.sweeper.stopChecks();
    await Promise.all([this.relay?.stop(), this.folder?.stop()]);
    const graceMs = this.config.SHUTDOWN_GRACE_MS;
    const finished = await stopWorkers(this.workers, graceMs);
    await withTimeout(Promise.all([...this.retiring]), graceMs, 'closing replaced workers').catch(() => undefined);
    if (!finished) log?.warn({ graceMs }, 'jobs still running after the grace; the workers closed without them');
    const queues = Promise.all([
      this.statusSync.close(),
      this.timeouts.close(),
      this.deliveries.close(),
      this.sweeper.close(),
      this.automaticRefunds.close(),
      this.reconciliation.close(),
    ]);
    await withTimeout(queues, graceMs, 'closing the queues').catch((err: unknown) => log?.warn({ err }, 'queues did not close in time'));
  }
}
