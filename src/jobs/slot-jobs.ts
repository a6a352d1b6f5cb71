import type { JobsOptions } from 'bullmq';

/** How long a process trusts that it added a slot's job, and how far ahead that slot's end must still be. */
const REMEMBER_MS = 10_000;
const REMEMBER_AHEAD_MS = 2000;
const REMEMBER_MAX = 10_000;

/** The slot of `slotMs` that holds `at` (epoch ms): the first slot ending at or after it (slot n ends at n × slotMs). */
export const slotAt = (at: number, slotMs: number): number => Math.ceil(at / slotMs);

/** A slot's add as this process remembers it: when, the add itself, and whether it has succeeded. */
interface Added {
  at: number;
  done: Promise<void>;
  settled: boolean;
}

/**
 * One delayed job per slot of time (slot n is the `slotMs` ending at n × slotMs, epoch ms), shared by everything
 * due in it (the order timeouts' half seconds, the status-sync rounds' seconds): the job id comes from the slot,
 * so adding it again is a no-op in Redis, and this process also remembers the slots it added lately (a slot's
 * work comes in a burst), so most schedules make no Redis call at all. A slot is remembered only while its end is
 * REMEMBER_AHEAD_MS ahead: a job that may have run by then is added again.
 */
export class SlotJobs {
  private readonly added = new Map<number, Added>();

  /** `add` adds slot n's job (with slotJobOptions); it runs at most once per slot per REMEMBER_MS here. */
  constructor(
    private readonly add: (slot: number, now: number) => Promise<unknown>,
    readonly slotMs = 1000,
  ) {}

  /** The slot that holds `at` (epoch ms): see slotAt. */
  slotOf(at: number): number {
    return slotAt(at, this.slotMs);
  }

  /**
   * Makes sure the job of `slot` exists, as of `now` (epoch ms). Undefined when this process added it lately
   * and that add has succeeded: nothing to wait for (most CreateOrders), so the caller skips its promise and its
   * timeout altogether; otherwise the add to wait for (this call's, or one still in flight for the same slot).
   */
  ensure(slot: number, now: number): Promise<void> | undefined {
    const ahead = slot * this.slotMs - now > REMEMBER_AHEAD_MS;
    const lately = this.added.get(slot);
    if (lately && now - lately.at < REMEMBER_MS && ahead) return lately.settled ? undefined : lately.done;
    const done = this.add(slot, now).then(
      () => void (entry.settled = true),
      (err: unknown) => {
        if (this.added.get(slot) === entry) this.added.delete(slot); // the next schedule of this slot tries again
        throw err;
      },
    );
    const entry: Added = { at: now, done, settled: false };
    // Remembered while in flight too: a burst due in one slot waits on one add, not one each.
    if (ahead) this.remember(slot, entry);
    return entry.done;
  }

  private remember(slot: number, entry: Added): void {
    if (this.added.size >= REMEMBER_MAX) {
      for (const [s, { at }] of this.added)
        if (entry.at - at >= REMEMBER_MS || s * this.slotMs - entry.at <= REMEMBER_AHEAD_MS) this.added.delete(s);
      if (this.added.size >= REMEMBER_MAX) this.added.clear();
    }
    this.added.set(slot, entry);
  }
}

/**
 * A slot's job: due exactly when the slot ends, at `dueAt` (epoch ms; its own timestamp is the instant the delay
 * was computed from: BullMQ would otherwise read the clock again, a millisecond or more later), retried 5× with
 * backoff, removed when done so a later schedule of the same slot can add it afresh.
 */
export const slotJobOptions = (jobId: string, dueAt: number, now: number): JobsOptions => ({
  jobId,
  timestamp: now,
  delay: Math.max(0, dueAt - now),
  attempts: 5,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: true,
  removeOnFail: true,
});
