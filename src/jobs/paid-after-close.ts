import { Queue, type Job, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Deps } from '../app/deps';
import { refundPaidAfterClose } from '../app/refund-paid-after-close';
import { QUEUE, startWorker, type WorkerContext } from './queues';

export interface PaidAfterCloseJob {
  tenantId: string;
  payNo: string;
}

/**
 * The one owner of the policy refund of a payment after close. Whoever learns of such a payment (a notify, a
 * Query with sync, status sync, the sweep) enqueues it under a job id from the pay no, so concurrent enqueues
 * collapse into one job; the job re-reads the order and refunds through the ordinary path, idempotent on
 * AUTO-<pay_no>, so even a second run refunds nothing twice. A lost job is enqueued again by the sweep.
 */
export class PaidAfterCloseRefunds {
  /** Read by the operators' queue board; jobs are added through the methods below only. */
  readonly queue: Queue<PaidAfterCloseJob>;

  constructor(
    connection: Redis,
    private readonly prefix: string,
  ) {
    this.queue = new Queue<PaidAfterCloseJob>(QUEUE.paidAfterClose, { connection, prefix });
  }

  /** Never all digits, never a colon (BullMQ's rules for custom ids). */
  static jobId = (payNo: string): string => `pac-refund-${payNo}`;

  async schedule({ tenantId, payNo }: PaidAfterCloseJob): Promise<void> {
    await this.queue.add(
      'refund',
      { tenantId, payNo },
      {
        jobId: PaidAfterCloseRefunds.jobId(payNo),
        attempts: 5,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<PaidAfterCloseJob> {
    return startWorker<PaidAfterCloseJob, string>({ ...ctx, prefix: this.prefix }, QUEUE.paidAfterClose, (job: Job<PaidAfterCloseJob>) =>
      this.run(deps, job.data),
    );
  }

  run(deps: Deps, { tenantId, payNo }: PaidAfterCloseJob): Promise<string> {
    return refundPaidAfterClose(deps, tenantId, payNo);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
