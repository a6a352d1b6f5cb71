import type { JobsOptions } from 'bullmq';

/** How long a process trusts that it added a second's job, and how far ahead that second must still be. */
const REMEMBER_MS = 10_000;
const REMEMBER_AHEAD_MS = 2000;
const REMEMBER_MAX = 10_000;

/**
 * One delayed job per second, shared by everything due in it (the order timeouts, the status-sync rounds): the
 * job id comes from the second, so adding it again is a no-op in Redis, and this process also remembers the
 * seconds it added lately (a second's work comes in a burst), so most schedules make no Redis call at all. A
 * second is remembered only while it is REMEMBER_AHEAD_MS ahead: a job that may have run by then is added again.
 */
/** A second's add as this process remembers it: when, the add itself, and whether it has succeeded. */
interface Added {
  at: number;
  done: Promise<void>;
  settled: boolean;
}

export class SecondJobs {
  private readonly added = new Map<number, Added>();

  /** `add` adds the second's job (with secondJobOptions); it runs at most once per second per REMEMBER_MS here. */
  constructor(private readonly add: (second: number, now: number) => Promise<unknown>) {}

  /**
   * Makes sure the job of `second` exists, as of `now` (epoch ms). Undefined when this process added it lately
   * and that add has succeeded: nothing to wait for (most CreateOrders), so the caller skips its promise and its
   * timeout altogether; otherwise the add to wait for (this call's, or one still in flight for the same second).
   */
  ensure(second: number, now: number): Promise<void> | undefined {
    const lately = this.added.get(second);
    if (lately && now - lately.at < REMEMBER_MS && second * 1000 - now > REMEMBER_AHEAD_MS) return lately.settled ? undefined : lately.done;
    const done = this.add(second, now).then(
      () => void (entry.settled = true),
      (err: unknown) => {
        if (this.added.get(second) === entry) this.added.delete(second); // the next schedule of this second tries again
        throw err;
      },
    );
    const entry: Added = { at: now, done, settled: false };
    // Remembered while in flight too: a burst due in one second waits on one add, not one each.
    if (second * 1000 - now > REMEMBER_AHEAD_MS) this.remember(second, entry);
    return entry.done;
  }

  private remember(second: number, entry: Added): void {
    if (this.added.size >= REMEMBER_MAX) {
      for (const [s, { at }] of this.added)
        if (entry.at - at >= REMEMBER_MS || s * 1000 - entry.at <= REMEMBER_AHEAD_MS) this.added.delete(s);
      if (this.added.size >= REMEMBER_MAX) this.added.clear();
    }
    this.added.set(second, entry);
  }
}

/**
 * A second's job: due exactly when the second ends (its own timestamp is the instant the delay was computed from;
 * BullMQ would otherwise read the clock again, a millisecond or more later), retried 5× with backoff, removed when
 * done so a later schedule of the same second can add it afresh.
 */
export const secondJobOptions = (jobId: string, second: number, now: number): JobsOptions => ({
  jobId,
  timestamp: now,
  delay: Math.max(0, second * 1000 - now),
  attempts: 5,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: true,
  removeOnFail: true,
});
