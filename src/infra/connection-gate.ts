/**
 * A FIFO of permits, one per pool connection, in front of the mariadb pool: the hot paths' statements and
 * transactions pass it before they ask the pool for a connection, so the pool nearly always has one idle.
 *
 * Why: when a statement finds no idle connection, mariadb 3.4 queues it at a cost of ~30 µs of CPU (it builds an
 * Error with a stack trace as its "none idle" signal, schedules two setImmediate events and re-arms a timer on every
 * hand-over). With 32 calls in flight on a pool of 10 that was most statements: `npm run bench` measured the
 * gRPC echo plus CreateOrder's INSERT at 176–179 µs of service CPU per call on a pool of 10 against 146–148 µs on a
 * pool of 32 (nothing queued). Waiting here costs a promise.
 *
 * The wait is bounded like the pool's own: a caller that waited acquireTimeoutMs fails with the driver's error
 * number for it (45028, ER_GET_CONNECTION_TIMEOUT), which the transports already answer as UNAVAILABLE
 * DATABASE_BUSY with RetryInfo. Whoever bypasses the gate (Prisma's cold paths, the outbox relay, the health probe)
 * can still take a connection a permit holder then waits for in the pool's own queue, as before: slower, never
 * wrong.
 */
export class ConnectionGate {
  private free: number;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly size: number,
    private readonly acquireTimeoutMs: number,
  ) {
    this.free = size;
  }

  /** Runs fn holding a permit, and gives the permit back when fn's promise settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const entered = this.enter();
    if (entered) await entered;
    try {
      return await fn();
    } finally {
      this.leave();
    }
  }

  /** Takes a permit (waiting for one); once it has it, the caller must leave() exactly once (not after a failed wait). */
  enter(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return this.wait();
  }

  /** Gives a permit back: to the longest waiter, or to the free count. */
  leave(): void {
    const next = this.waiting.shift();
    if (next) next.grant();
    else this.free++;
  }

  /** Permits nobody holds. */
  get available(): number {
    return this.free;
  }

  /** Callers waiting for a permit. */
  get queued(): number {
    return this.waiting.length;
  }

  private wait(): Promise<void> {
    return new Promise<void>((grant, fail) => {
      this.waiting.push({ grant, fail, since: Date.now() });
      this.timer ??= setTimeout(() => this.expire(), this.acquireTimeoutMs).unref();
    });
  }

  /** Fails the waiters that waited their acquireTimeoutMs, then looks again when the next one's is up. */
  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.waiting.length > 0 && now - this.waiting[0].since >= this.acquireTimeoutMs) {
      this.waiting.shift()!.fail(acquireTimeout(this.acquireTimeoutMs, this.size));
    }
    if (this.waiting.length > 0) {
      this.timer = setTimeout(() => this.expire(), this.waiting[0].since + this.acquireTimeoutMs - now).unref();
    }
  }
}

interface Waiter {
  grant: () => void;
  fail: (err: Error) => void;
  since: number;
}

/** The driver's 45028 (see tx.ts's isTransientDbError), shaped as its SqlError is. */
function acquireTimeout(ms: number, size: number): Error {
  return Object.assign(new Error(`no pool connection within ${ms} ms: all ${size} busy (waiting in the connection gate)`), {
    errno: 45028,
    code: 'ER_GET_CONNECTION_TIMEOUT',
    sqlState: 'HY000',
  });
}
