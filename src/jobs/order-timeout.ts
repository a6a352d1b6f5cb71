import { DelayedError, Queue, type Job, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Deps } from '../app/deps';
import { expireOrder, type ExpireResult } from '../app/expire-order';
import { QUEUE, startWorker, type WorkerContext } from './queues';

export interface TimeoutJob {
  tenantId: string;
  payNo: string;
}

/** The order-side identity a timeout needs; the job re-reads everything else. */
export type ExpiringOrder = TimeoutJob & { expireAt: Date };

/**
 * One delayed job per order, due at its expiry (the seeds' delayed close message). The job id comes from the
 * pay no, so scheduling twice (CreateOrder, then the sweeper) keeps one job. Channel trouble fails the run and
 * BullMQ retries it; the sweeper picks up an order whose job was lost or gave up.
 */
export class OrderTimeouts {
  /** Read by the operators' queue board; jobs are added through the methods below only. */
  readonly queue: Queue<TimeoutJob>;

  constructor(
    connection: Redis,
    private readonly prefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.queue = new Queue<TimeoutJob>(QUEUE.orderTimeout, { connection, prefix });
  }

  static jobId = (payNo: string): string => `timeout-${payNo}`;

  async schedule({ tenantId, payNo, expireAt }: ExpiringOrder): Promise<void> {
    await this.queue.add(
      'timeout',
      { tenantId, payNo },
      {
        jobId: OrderTimeouts.jobId(payNo),
        delay: Math.max(0, expireAt.getTime() - this.now().getTime()),
        attempts: 5,
        backoff: { type: 'exponential', delay: 10_000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /** For an overdue order: queues its timeout, or runs a still-delayed one now. */
  async runNow(order: ExpiringOrder): Promise<void> {
    await this.schedule(order);
    const job = await this.queue.getJob(OrderTimeouts.jobId(order.payNo));
    if (job && (await job.isDelayed())) await job.promote();
  }

  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<TimeoutJob> {
    return startWorker<TimeoutJob, string>({ ...ctx, prefix: this.prefix }, QUEUE.orderTimeout, async (job: Job<TimeoutJob>, token) => {
      const result = await this.run(deps, job.data);
      if (result.kind === 'not-due') {
        // Fired early (clock skew between instances): wait for the expiry rather than close a payable order.
        await job.moveToDelayed(result.dueAt.getTime(), token);
        throw new DelayedError();
      }
      return `order is ${result.status}`;
    });
  }

  /** Expires the order if it is due and still unpaid; running it twice changes nothing more. */
  run(deps: Deps, { tenantId, payNo }: TimeoutJob): Promise<ExpireResult> {
    return expireOrder(deps, tenantId, payNo);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
