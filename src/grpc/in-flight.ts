import { withTimeout } from '../infra/with-timeout';

/**
 * The calls a server is still working on. grpc-js's forceShutdown drops connections but cannot stop our use
 * cases mid-flight: the process waits for them (they are bounded by channel and database timeouts) before it
 * closes the database, so none is cut off between a channel call and the write that records its answer.
 */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    const forget = () => this.running.delete(work);
    work.then(forget, forget);
    return work;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves when every tracked call has settled, or after `maxMs`, whichever is first; true if all settled. */
  async settle(maxMs: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    return withTimeout(Promise.allSettled([...this.running]), maxMs, 'the drain').then(
      () => true,
      () => false,
    );
  }
}
