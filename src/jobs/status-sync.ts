import { Queue, type Job, type Worker } from 'bullmq';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import { syncAttemptByNo, syncRefundByNo } from '../app/sync-attempt';
import { QUEUE, startWorker, type WorkerContext } from './queues';

export const STATUS_SYNC_QUEUE = QUEUE.statusSync;

export interface SyncJob {
  /** The attempt (its out_trade_no) whose payment we ask about, or the refund we ask about. */
  attemptNo?: string;
  refundNo?: string;
  /** How many syncs of this attempt or refund ran before this one. */
  round: number;
}

/**
 * Asks the channel about what we do not know yet (an attempt nobody notified us about, a prepay or close that
 * timed out, a refund still pending at the channel) on a schedule like Hyperswitch's PSync, and applies the
 * answer through the notify's transition path with cause SYNC. Each ask that learns nothing stamps the row's
 * updated_at, which the sweeper reads as "last asked": after the schedule it asks again every
 * STATUS_SYNC_TAIL_MS until the order expires, and it re-asks anything whose job was lost.
 * Jobs carry ids, not state: each run re-reads the database, so running one twice is harmless.
 */
export class StatusSync {
  /** Read by the operators' queue board; jobs are added through the methods below only. */
  readonly queue: Queue<SyncJob>;

  constructor(
    connection: RedisClient,
    /** Delay before each round; its length is how many scheduled rounds there are. */
    private readonly delaysMs: readonly number[],
    /** Hash-tagged ({…}) so every key of the queue lands in one Redis Cluster slot. */
    private readonly prefix: string,
  ) {
    this.queue = new Queue<SyncJob>(STATUS_SYNC_QUEUE, { connection, prefix });
  }

  /** The round the sweeper runs once the schedule is spent: asks once, schedules nothing after it. */
  get tailRound(): number {
    return this.delaysMs.length;
  }

  /**
   * Schedules round `round` for the attempt; a round already pending for it is not added twice. Done jobs are
   * removed at once, so their ids are free for the next time the attempt needs a sync.
   */
  async schedule(attemptNo: string, round = 0): Promise<void> {
    await this.add({ attemptNo, round }, `psync-${attemptNo}-${round}`);
  }

  async scheduleRefund(refundNo: string, round = 0): Promise<void> {
    await this.add({ refundNo, round }, `rsync-${refundNo}-${round}`);
  }

  private async add(job: SyncJob, jobId: string): Promise<void> {
    if (job.round > this.tailRound) return;
    const delay = job.round < this.delaysMs.length ? this.delaysMs[job.round] : 0;
    await this.queue.add(job.refundNo ? 'refund' : 'sync', job, {
      jobId,
      delay,
      removeOnComplete: true,
      removeOnFail: true,
      attempts: 3,
      backoff: { type: 'exponential', delay: 5_000 },
    });
  }

  /** A worker for this queue; run as many as you like, on any instance. */
  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<SyncJob> {
    return startWorker({ ...ctx, prefix: this.prefix }, STATUS_SYNC_QUEUE, (job: Job<SyncJob>) =>
      job.data.refundNo ? this.runRefund(deps, job.data) : this.run(deps, job.data),
    );
  }

  /** One round for an attempt: ask the channel (a use case); if it still has no final answer, schedule the next round. */
  async run(deps: Deps, { attemptNo, round }: SyncJob): Promise<string> {
    if (!attemptNo) return 'attempt already settled';
    const r = await syncAttemptByNo(deps, attemptNo);
    if (r.askAgain && round + 1 < this.delaysMs.length) await this.schedule(attemptNo, round + 1);
    return r.summary;
  }

  /** One round for a pending refund: sent again by the use case; if still pending, schedule the next round. */
  async runRefund(deps: Deps, { refundNo, round }: SyncJob): Promise<string> {
    if (!refundNo) return 'refund is gone';
    const r = await syncRefundByNo(deps, refundNo);
    if (r.askAgain && round + 1 < this.delaysMs.length) await this.scheduleRefund(refundNo, round + 1);
    return r.summary;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
