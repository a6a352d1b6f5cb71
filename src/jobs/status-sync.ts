import { Queue, type Job, type Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../infra/redis';
import type { Deps } from '../app/deps';
import { syncAttemptByNo, syncRefundByNo } from '../app/sync-attempt';
import { forEachLimited } from '../infra/for-each-limited';
import { QUEUE, startWorker, type WorkerContext } from './queues';
import { QueueProducer } from './renewing-queue';
import { slotJobOptions, SlotJobs } from './slot-jobs';

export const STATUS_SYNC_QUEUE = QUEUE.statusSync;

export interface SyncJob {
  /** The attempt (its out_trade_no) whose payment we ask about, or the refund we ask about. */
  attemptNo?: string;
  refundNo?: string;
  /** How many syncs of this attempt or refund ran before this one. */
  round: number;
}

/** A second's job: every attempt round in that second's due set (epoch seconds; due when the second ends). */
export interface DueSecondJob {
  second: number;
}

/**
 * A round due at least this far ahead goes into its second's due set; a nearer one (the sweep's tail round, the
 * short schedules tests use) gets a job of its own, due to the millisecond. Far enough ahead that the second's job
 * cannot have started before the round is added to its set, whatever the instances' clocks within reason.
 */
export const DUE_SET_MIN_DELAY_MS = 5000;
/** How long a due set outlives its second if its job is lost (the sweep asks the attempts then; the set is garbage). */
const DUE_SET_TTL_MS = 24 * 60 * 60 * 1000;
/** Rounds of one second a job asks the channel about at once. */
const DUE_PARALLEL = 8;
/**
 * Asks the channel about what we do not know yet (an attempt nobody notified us about, a prepay or close that
 * timed out, a refund still pending at the channel) on a schedule like Hyperswitch's PSync, and applies the
 * answer through the notify's transition path with cause SYNC. Each ask that learns nothing stamps the row's
 * updated_at, which the sweeper reads as "last asked": after the schedule it asks again every
 * STATUS_SYNC_TAIL_MS until the order expires, and it re-asks anything whose job was lost.
 * Jobs carry ids, not state: each run re-reads the database, so running one twice is harmless.
 */
export class StatusSync extends QueueProducer<Queue<SyncJob | DueSecondJob>> {
  /** The seconds' jobs; with each, the set's expiry (whoever adds a second's job first touches its set). */
  private readonly seconds = new SlotJobs((second, now) =>
    Promise.all([
      this.connection.pexpireat(this.dueSetKey(second), second * 1000 + DUE_SET_TTL_MS),
      this.queue.add('second', { second }, slotJobOptions(StatusSync.secondJobId(second), second * 1000, now)),
    ]),
  );

  constructor(
    private readonly connection: RedisClient,
    /** Delay before each round; its length is how many scheduled rounds there are. */
    private readonly delaysMs: readonly number[],
    /** Hash-tagged ({…}) so every key of the queue lands in one Redis Cluster slot. */
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    super(() => new Queue<SyncJob | DueSecondJob>(STATUS_SYNC_QUEUE, { connection, prefix }));
  }

  /** The set of attempt rounds due in `second` (members `round:attemptNo`), in the queue's slot. */
  dueSetKey(second: number): string {
    return `${this.prefix}:${STATUS_SYNC_QUEUE}:due:${second}`;
  }

  static secondJobId = (second: number): string => `psync-s${second}`;
  /** The job of one round of its own (a round due sooner than DUE_SET_MIN_DELAY_MS). */
  static roundJobId = (attemptNo: string, round: number): string => `psync-${attemptNo}-${round}`;

  /** The round the sweeper runs once the schedule is spent: asks once, schedules nothing after it. */
  get tailRound(): number {
    return this.delaysMs.length;
  }

  /**
   * Schedules round `round` for the attempt; a round already pending for it (in the same second, for a due set)
   * is not added twice.
   *
   * Every Prepay schedules a round, and an unpaid attempt is asked six times over 26 minutes: a BullMQ job per
   * round cost ~980 B of Redis per PAYING order (a million of them: ~0.94 GB) and a job add per Prepay. So a
   * round due at least DUE_SET_MIN_DELAY_MS ahead is a member of its second's due set (~100 B), and one delayed
   * job per second, shared by every round due in it, asks about them all when the second ends (as the order
   * timeouts do). A nearer round gets a job of its own. Done jobs are removed at once, so their ids are free for
   * the next time the attempt needs a sync. If Redis loses a set or a job, the sweep asks the attempt later.
   */
  async schedule(attemptNo: string, round = 0): Promise<void> {
    if (round > this.tailRound) return;
    const delay = this.delayOf(round);
    if (delay < DUE_SET_MIN_DELAY_MS) return this.add({ attemptNo, round }, StatusSync.roundJobId(attemptNo, round));
    const now = this.now();
    const second = this.seconds.slotOf(now + delay);
    const key = this.dueSetKey(second);
    // Member first, job second: a job that then fails to be added leaves a member the next add of its second,
    // or the sweep, picks up; never a job that ran before its member arrived.
    await this.connection.sadd(key, `${round}:${attemptNo}`);
    await this.seconds.ensure(second, now);
  }

  async scheduleRefund(refundNo: string, round = 0): Promise<void> {
    await this.add({ refundNo, round }, `rsync-${refundNo}-${round}`);
  }

  private delayOf(round: number): number {
    return round < this.delaysMs.length ? this.delaysMs[round] : 0;
  }

  private async add(job: SyncJob, jobId: string): Promise<void> {
    if (job.round > this.tailRound) return;
    const delay = this.delayOf(job.round);
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
  worker(deps: Deps, ctx: Omit<WorkerContext, 'prefix'>): Worker<SyncJob | DueSecondJob> {
    return startWorker({ ...ctx, prefix: this.prefix }, STATUS_SYNC_QUEUE, (job: Job<SyncJob | DueSecondJob>) => {
      if (job.name === 'second') return this.runSecond(deps, job as Job<DueSecondJob>);
      const data = job.data as SyncJob;
      return data.refundNo ? this.runRefund(deps, data) : this.run(deps, data);
    });
  }

  /**
   * A second's job: asks about every attempt round in its due set, DUE_PARALLEL at a time, each through `run`
   * (which schedules the attempt's next round). A round is removed from the set once run, so a retry of the job
   * (after a failed round, or a crash mid-way) asks only about what is left.
   */
  async runSecond(deps: Deps, job: Pick<Job<DueSecondJob>, 'data'>): Promise<string> {
    // Not held back if it fires early (clock skew, an operator's promote): asking the channel early is harmless.
    const { second } = job.data;
    const key = this.dueSetKey(second);
    const members = await this.connection.smembers(key);
    let done = 0;
    const failed: string[] = [];
    await forEachLimited(members, DUE_PARALLEL, async (member) => {
      const round = parseRound(member);
      try {
        if (round) await this.run(deps, round);
        await this.connection.srem(key, member);
        done++;
      } catch (err) {
        failed.push(`${member}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    if (failed.length > 0) throw new Error(`${failed.length} of ${members.length} sync rounds due ${second} failed: ${failed[0]}`);
    return `${done} sync rounds run`;
  }

  /**
   * Where round `round` of the attempt waits: its own job, or the job of the second whose due set holds it.
   * For operators and tests (it scans the due sets); undefined once the round has run.
   */
  async pending(attemptNo: string, round = 0): Promise<Job | undefined> {
    const own = await this.queue.getJob(StatusSync.roundJobId(attemptNo, round));
    if (own) return own;
    const member = `${round}:${attemptNo}`;
    const keyPrefix = this.dueSetKey(0).slice(0, -1);
    const nodes = this.connection instanceof Cluster ? this.connection.nodes('master') : [this.connection];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await node.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        for (const key of keys) {
          if (!(await node.sismember(key, member))) continue;
          const job = await this.queue.getJob(StatusSync.secondJobId(Number(key.slice(keyPrefix.length))));
          if (job) return job;
        }
        cursor = nextCursor;
      } while (cursor !== '0');
    }
    return undefined;
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
}

/** A due-set member back to its round; undefined for one this version cannot read (it is dropped). */
function parseRound(member: string): SyncJob | undefined {
  const colon = member.indexOf(':');
  const round = Number(member.slice(0, colon));
  const attemptNo = member.slice(colon + 1);
  return colon > 0 && Number.isInteger(round) && round >= 0 && attemptNo ? { attemptNo, round } : undefined;
}
