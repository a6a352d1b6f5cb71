import { DelayedError, Worker, type Job, type Processor, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger';
import { throttled } from '../infra/throttled';
import type { Metrics } from '../infra/metrics';

/** Every internal queue; their keys live under QUEUE_PREFIX, the order side's topics under EVENT_QUEUE_PREFIX. */
export const QUEUE = {
  statusSync: 'status-sync',
  orderTimeout: 'order-timeout',
  eventDelivery: 'event-delivery',
  maintenance: 'maintenance',
  paidAfterClose: 'paid-after-close',
} as const;

export interface WorkerContext {
  connection: Redis;
  prefix: string;
  log: Logger;
  metrics: Metrics;
}

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
  const worker = new Worker<D, R>(
    queue,
    async (job: Job<D, R>, token?: string) => {
      const timer = ctx.metrics.jobs.startTimer({ queue });
      try {
        const result = await run(job, token);
        timer({ result: 'completed' });
        ctx.log.debug({ queue, job: job.id, result }, 'job done');
        return result;
      } catch (err) {
        timer({ result: err instanceof DelayedError ? 'delayed' : 'failed' });
        throw err;
      }
    },
    { connection: ctx.connection, prefix: ctx.prefix, concurrency: 8, ...opts },
  );
  worker.on('failed', (job, err) => ctx.log.warn({ err, queue, job: job?.id, attempt: job?.attemptsMade }, 'job failed'));
  worker.on(
    'error',
    throttled((err: Error) => ctx.log.error({ err, queue }, 'worker error')),
  );
  return worker;
}
