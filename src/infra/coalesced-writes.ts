import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();
const coalescing = new WeakSet<Writable>();
const flushing = new WeakSet<Writable>();

/**
 * Corks `stream` for the rest of this turn of the event loop (once per turn, however often it is called): a
 * setImmediate, which runs once the loop has handled every I/O event it found ready, uncorks it, and what was written
 * meanwhile leaves in one system call (a writev). Concurrent calls whose statements or commands share a connection
 * usually resume in the same turn (their answers arrive in one socket read), so their next writes go together:
 * a write to a loopback socket costs ~10–20 µs of kernel CPU here, more than most commands' own client-side work.
 * Nothing waits for a timer or for another write: a write waits for the loop's next check phase, the end of this turn
 * (or of the next one when it is made in the check or close phase itself, from a setImmediate or a close callback).
 */
export function corkForTurn(stream: Writable): void {
  if (corked.has(stream)) return;
  corked.add(stream);
  flushBeforeDestroy(stream);
  stream.cork();
  setImmediate(() => {
    corked.delete(stream);
    stream.uncork();
  });
}

/**
 * `destroy()` drops what a corked stream holds (`end()` flushes it): the mariadb driver writes COM_QUIT and destroys
 * the socket in the same turn, so the server would log an aborted connection. What is held is sent first.
 */
function flushBeforeDestroy(stream: Writable): void {
  if (flushing.has(stream)) return;
  flushing.add(stream);
  const destroy = stream.destroy.bind(stream) as (...args: unknown[]) => Writable;
  stream.destroy = (...args: unknown[]): Writable => {
    while (stream.writableCorked > 0) stream.uncork();
    return destroy(...args);
  };
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
