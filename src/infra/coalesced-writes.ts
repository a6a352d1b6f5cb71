import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();
const coalescing = new WeakSet<Writable>();

/**
 * Corks `stream` for the rest of this turn of the event loop (once per turn, however often it is called): a
 * setImmediate, which runs once the loop has handled every I/O event it found ready, uncorks it, and what was written
 * meanwhile leaves in one system call (a writev). Concurrent calls whose statements or commands share a connection
 * usually resume in the same turn (their answers arrive in one socket read), so their next writes go together:
 * a write to a loopback socket costs ~10–20 µs of kernel CPU here, more than most commands' own client-side work.
 * The delay is bounded by the turn: nothing waits for a timer or for another write.
 */
export function corkForTurn(stream: Writable): void {
  if (corked.has(stream)) return;
  corked.add(stream);
  stream.cork();
  setImmediate(() => {
    corked.delete(stream);
    stream.uncork();
  });
}

/** Every write to `stream` corks it for the turn first (corkForTurn): the turn's writes leave together. */
export function coalesceWrites(stream: Writable): void {
  if (coalescing.has(stream)) return;
  coalescing.add(stream);
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]): boolean => {
    corkForTurn(stream);
    return write(...args);
  }) as Writable['write'];
}
