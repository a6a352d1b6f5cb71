import { Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import { runAutomaticRefund } from '../app/automatic-refund';
import type { AutomaticRefundTry, Deps } from '../app/deps';
import type { AutomaticRefundTarget } from '../domain/automatic-refunds';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer } from './renewing-queue';

export type AutomaticRefundJob = AutomaticRefundTarget;

/**
 * The one owner of the service's own refunds: of a payment after close, and of a duplicate payment. Whoever
 * learns of one (a notify, a Query with sync, status sync, the sweep, a failed try) enqueues it under a job id
 * from its target (and try), so concurrent enqueues collapse into one job; the job re-reads the database and
 * refunds through the ordinary path, idempotent on each try's out_refund_no, so even a second run refunds
 * nothing twice. A lost job is enqueued again by the sweep.
 */
export class AutomaticRefunds extends QueueProducer<Queue<AutomaticRefundJob>> {
  constructor(
    connection: RedisClient,
    private readonly prefix: string,
  ) {
    super(() => new Queue<AutomaticRefundJob>(QUEUE.automaticRefunds, { connection, prefix }));
  }

  /** Never all digits, never a colon (BullMQ's rules for custom ids). */
  static jobId = (target: AutomaticRefundTarget, tryNo?: number): string =>
    `${target.attemptNo ? `dup-refund-${target.attemptNo}` : `pac-refund-${target.payNo}`}${tryNo ? `-try${tryNo}` : ''}`;

  async schedule(target: AutomaticRefundTarget, when?: AutomaticRefundTry): Promise<void> {
    const data: AutomaticRefundJob = {
      tenantId: target.tenantId,
      payNo: target.payNo,
      ...(target.attemptNo ? { attemptNo: target.attemptNo } : {}),
    };
    await this.queue.add('refund', data, {
      jobId: AutomaticRefunds.jobId(target, when?.tryNo),
      delay: when ? Math.max(0, when.at.getTime() - Date.now()) : 0,
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<AutomaticRefundJob> {
    return startWorker<AutomaticRefundJob, string>(
      { ...ctx, prefix: this.prefix },
      QUEUE.automaticRefunds,
      (job: Job<AutomaticRefundJob>) => this.run(deps, job.data),
    );
  }

  run(deps: Deps, target: AutomaticRefundJob): Promise<string> {
    return runAutomaticRefund(deps, target);
  }
}
