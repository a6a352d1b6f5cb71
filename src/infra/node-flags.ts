/**
 * The Node (V8) flags the service runs with. `npm start`, `npm run dev`, the Dockerfile's CMD, the chaos run's
 * instances and the bench's service and echo processes all pass them (test/unit/node-flags.test.ts checks each).
 *
 * `--max-semi-space-size=32`: V8 allocates every call's short-lived objects in its young generation and empties it
 * with a scavenge, which copies what is still live. Node 20 caps a semi-space at 16 MB. At 32 calls in flight much
 * of a call's state is still live when a scavenge comes, so it is copied, and promoted to the old generation if it
 * lives through two. With 32 MB, scavenges come half as often and a call is more often done before one. Measured in
 * the bench's service (a `gc` PerformanceObserver, the same run shape each time):
 * - CreateOrder + Prepay: 13.1 → 6.3 scavenges per 1,000 pairs, 62 → 46 µs of pause per pair (64 MB: 34 µs);
 * - Query: 4.3 → 2.1 per 1,000 calls, 13.2 → 8.5 µs per call.
 * A scavenge runs on the helper threads too, so the CPU saved is more than the pause. The cost is memory: the young
 * generation may grow to two 32 MB semi-spaces. The service's RSS in that run was 299 → 355 MB (64 MB: 419 MB).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** What the service logs (at warn, on start) when it runs without some of them. */
export const MISSING_FLAGS = 'started without the Node flags the service is tuned for (src/infra/node-flags.ts)';

const nameOf = (flag: string): string => flag.split('=')[0].replace(/_/g, '-');

/**
 * The SERVICE_NODE_FLAGS this process was started without, on its command line or in NODE_OPTIONS. A flag counts
 * as given whatever its value: an operator may have chosen another on purpose.
 */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith('--')).map(nameOf));
  return SERVICE_NODE_FLAGS.filter((flag) => !given.has(nameOf(flag)));
}
