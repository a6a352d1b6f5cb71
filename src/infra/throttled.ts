/** At most one call per `intervalMs` (the rest are dropped): for error logs a reconnect loop would flood. */
export function throttled<A extends unknown[]>(fn: (...args: A) => void, intervalMs = 10_000): (...args: A) => void {
  let last = 0;
  return (...args: A) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    fn(...args);
  };
}
