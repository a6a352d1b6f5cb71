import { DelayedError, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Logger } from '../infra/logger';
import { withTimeout } from '../infra/with-timeout';
import { throttled } from '../infra/throttled';
import type { Metrics } from '../infra/metrics';

/** Every internal queue; their keys live under QUEUE_PREFIX, the order side's topics under EVENT_QUEUE_PREFIX. */
export const QUEUE = {
  statusSync: 'status-sync',
  orderTimeout: 'order-timeout',
  eventDelivery: 'event-delivery',
  maintenance: 'maintenance',
  automaticRefunds: 'automatic-refunds',
  reconciliation: 'reconciliation',
} as const;

export interface WorkerContext {
  connection: RedisClient;
  prefix: string;
  log: Logger;
  metrics: Metrics;
  /** How a crashed worker's jobs are found again (JOB_LOCK_MS, JOB_STALLED_CHECK_MS); BullMQ's 30 s each if not given. */
  stall?: StallSettings;
}

/**
 * A running job holds a lock in Redis for `lockMs`, renewed every half of it while its process lives; every
 * `checkMs` each worker moves jobs whose lock lapsed back to waiting. So the jobs of a process that died
 * (kill -9, a lost host) run again within about lockMs + checkMs, on any worker. Shorter costs one Redis call
 * per running job per lockMs/2 and one per worker per checkMs; a process whose event loop stalls longer than
 * lockMs has its job run twice, which every job here tolerates (they are idempotent).
 */
export interface StallSettings {
  lockMs: number;
  checkMs: number;
}

/**
 * How long a worker waits before it tries again after a Redis command failed on a lost connection (fetching
 * its next job, finishing one). BullMQ waits 15 s; a Redis failover (a replica promoted in 2-3 s) or restart
 * then stalls every queue, the sweep's included, for 15 s or a multiple of it. The retries are one command per
 * worker per second while Redis is away.
 */
const RUN_RETRY_DELAY_MS = 1000;

/** How many jobs each worker is running now (counted around the processor: BullMQ has no public count). */
const running = new WeakMap<Worker, { jobs: number; idle?: () => void }>();

/**
 * A worker whose runs are timed and counted by queue and result, and whose failures are logged with the job id
 * (BullMQ retries them by the job's own attempts and backoff).
 */
export function startWorker<D, R>(
  ctx: WorkerContext,
  queue: string,
  run: Processor<D, R>,
  opts: Partial<WorkerOptions> = {},
): Worker<D, R> {
  const count: { jobs: number; idle?: () => void } = { jobs: 0 };
  const worker = new Worker<D, R>(
    queue,
    async (job: Job<D, R>, token?: string) => {
      const timer = ctx.metrics.jobs.startTimer({ queue });
      count.jobs++;
      try {
        const result = await run(job, token);
        timer({ result: 'completed' });
        ctx.log.debug({ queue, job: job.id, result }, 'job done');
        return result;
      } catch (err) {
        timer({ result: err instanceof DelayedError ? 'delayed' : 'failed' });
        throw err;
      } finally {
        if (--count.jobs === 0) count.idle?.();
      }
    },
    {
      connection: ctx.connection,
      prefix: ctx.prefix,
      concurrency: 8,
      runRetryDelay: RUN_RETRY_DELAY_MS,
      ...(ctx.stall ? { lockDuration: ctx.stall.lockMs, stalledInterval: ctx.stall.checkMs } : {}),
      ...opts,
    },
  );
  running.set(worker, count);
  worker.on('stalled', (jobId) =>
    ctx.log.warn({ queue, job: jobId }, 'job was held by a worker that stopped (crashed?); running it again'),
  );
  worker.on('failed', (job, err) => ctx.log.warn({ err, queue, job: job?.id, attempt: job?.attemptsMade }, 'job failed'));
  worker.on(
    'error',
    throttled((err: Error) => ctx.log.error({ err, queue }, 'worker error')),
  );
  return worker;
}

/** Jobs this worker's processor is running now. */
export const runningJobs = (worker: Worker): number => running.get(worker)?.jobs ?? 0;

/**
 * Stops workers: they take no new job at once, their running jobs get up to `graceMs` to finish, then the workers
 * close (forced: a job still running is cut, every job is idempotent, and BullMQ's stalled-job check hands it to
 * another worker). Resolves false if a job was cut. Not BullMQ's pause(): waiting for running jobs there ends with a
 * reconnect of the blocking connection, which, if the grace ran out first, reopens it after close() closed it
 * (the connection then outlives the service). Not close() then close(true): a second close returns the first,
 * still-pending one.
 */
export async function stopWorkers(workers: Worker[], graceMs: number): Promise<boolean> {
  await Promise.all(workers.map((w) => w.pause(true)));
  const idle = (w: Worker) =>
    new Promise<void>((resolve) => {
      const count = running.get(w);
      if (!count || count.jobs === 0) return resolve();
      count.idle = resolve;
    });
  const finished = await withTimeout(Promise.all(workers.map(idle)), graceMs, 'waiting for running jobs').then(
    () => true,
    () => false,
  );
  // Forced either way: no job of ours runs any more (or it was cut), and an unforced close first waits for the
  // worker's fetch loop, which a worker stuck after a Redis Cluster failover never ends; its lock-renewal timer
  // then outlives the close (and the process's event loop with it).
  await withTimeout(Promise.all(workers.map((w) => w.close(true))), Math.max(graceMs, 5000), 'closing the workers').catch(() => undefined);
  return finished;
}
