const ATTEMPT_TIMEOUT_MS = 5000;

/** One delivery attempt (numbered from 0); resolves true when the receiver acknowledged the notify. */
export type Deliver<P> = (url: string, payload: P, attempt: number, signal: AbortSignal) => Promise<boolean>;

export interface NotifierOptions<P> {
  /** The wait before each attempt, ms: entry i before attempt i, so its length is the number of attempts. */
  scheduleMs: readonly number[];
  deliver: Deliver<P>;
  /** Where the `duplicateNotify` fault comes from: the notify is then delivered twice, concurrently. */
  faults: { take(kind: 'duplicateNotify'): unknown };
}

/**
 * Delivers notifies the way a payment channel does: attempt after attempt on the channel's schedule until the
 * receiver acknowledges one or the schedule runs out. The payload (hence the notify id) is the same on every
 * attempt; `deliver` signs each attempt afresh. `close` stops what is waiting and aborts what is on the wire.
 */
export class Notifier<P> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private inFlight = 0;

  constructor(private readonly opts: NotifierOptions<P>) {}

  /**
   * Starts delivering `payload`, `holdMs` later than the schedule says (so notifies sent after it overtake it).
   * Resolves once its first attempt has finished, acknowledged or not.
   */
  send(url: string, payload: P, holdMs = 0): Promise<void> {
    const first = new Promise<void>((resolve) => this.schedule(url, payload, 0, holdMs, resolve));
    if (this.opts.faults.take('duplicateNotify') !== undefined) this.schedule(url, payload, 0, holdMs);
    return first;
  }

  /** Deliveries waiting for their turn or on the wire: 0 once every notify is acknowledged or given up. */
  get pending(): number {
    return this.timers.size + this.inFlight;
  }

  close(): void {
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(url: string, payload: P, attempt: number, holdMs: number, onDone?: () => void): void {
    const { scheduleMs, deliver } = this.opts;
    if (attempt >= scheduleMs.length || this.stopping.signal.aborted) return onDone?.();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.inFlight += 1;
      void deliver(url, payload, attempt, this.stopping.signal)
        .catch(() => false)
        .then((acked) => {
          this.inFlight -= 1;
          onDone?.();
          if (!acked) this.schedule(url, payload, attempt + 1, 0);
        });
    }, scheduleMs[attempt] + holdMs);
    this.timers.add(timer);
  }
}

/** What came back from one notify POST. */
export interface NotifyAnswer {
  status: number;
  body: string;
}

/** POSTs one notify attempt; undefined when nothing came back (refused, timed out after 5 s, or stopped). */
export async function postNotify(
  url: string,
  request: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
): Promise<NotifyAnswer | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
    });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}
