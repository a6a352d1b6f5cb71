import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { applyTradeStatus } from '../app/apply-trade-status';
import { channelFor } from '../app/channel-accounts';
import type { Deps } from '../app/deps';
import { tradeSnapshot } from '../app/snapshots';
import { isPaid } from '../domain/order-status';
import { findAttempt, findOrder } from '../repo/pay-orders';

export const STATUS_SYNC_QUEUE = 'status-sync';

export interface SyncJob {
  attemptNo: string;
  /** How many syncs of this attempt ran before this one. */
  round: number;
}

/**
 * Asks the channel about an attempt whose outcome we do not know (a prepay or close that timed out, a notify
 * that never came), on a schedule like Hyperswitch's PSync, and applies the answer through the notify's
 * transition path. Jobs carry ids, not state: each run re-reads the database, so running one twice is harmless.
 */
export class StatusSync {
  private readonly queue: Queue<SyncJob>;

  constructor(
    connection: Redis,
    /** Delay before each round; its length is how many rounds there are. */
    private readonly delaysMs: readonly number[],
    /** Hash-tagged ({…}) so every key of the queue lands in one Redis Cluster slot. */
    private readonly prefix: string,
  ) {
    this.queue = new Queue<SyncJob>(STATUS_SYNC_QUEUE, { connection, prefix });
  }

  /**
   * Schedules round `round` for the attempt; a round already pending for it is not added twice. Done jobs are
   * removed at once, so their ids are free for the next time the attempt needs a sync.
   */
  async schedule(attemptNo: string, round = 0): Promise<void> {
    if (round >= this.delaysMs.length) return;
    await this.queue.add(
      'sync',
      { attemptNo, round },
      { jobId: `psync-${attemptNo}-${round}`, delay: this.delaysMs[round], removeOnComplete: true, removeOnFail: true, attempts: 3 },
    );
  }

  /** A worker for this queue; run as many as you like, on any instance. */
  worker(deps: Deps, connection: Redis): Worker<SyncJob> {
    return new Worker<SyncJob>(STATUS_SYNC_QUEUE, (job: Job<SyncJob>) => this.run(deps, job.data), {
      connection,
      prefix: this.prefix,
      concurrency: 8,
    });
  }

  /** One round: query the channel; if it still has no final answer, schedule the next round. */
  async run(deps: Deps, { attemptNo, round }: SyncJob): Promise<string> {
    const attempt = await findAttempt(deps.db, attemptNo);
    if (!attempt || attempt.status === 'SUCCESS') return 'attempt already settled';
    const order = await findOrder(deps.db, { tenantId: attempt.tenantId, payNo: attempt.payNo });
    // A closed attempt of an unpaid (even closed) order is still asked: the buyer may have paid as we closed it.
    if (!order || isPaid(order.status)) return `order is ${order?.status ?? 'gone'}`;
    const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, {});
    const status = await handler.query(tradeSnapshot(order, attempt), call);
    const result = await applyTradeStatus(deps, attempt, status, { cause: 'SYNC' });
    if (result.kind === 'unchanged' && (status.outcome === 'pending' || status.outcome === 'unknown')) {
      await this.schedule(attemptNo, round + 1);
    }
    return `${status.outcome}: ${result.kind}`;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
