/**
 * How a long-running script ends (npm run dev, npm run sandbox, the bench's children): however the process that
 * started it ends. SIGINT, SIGTERM and SIGHUP each call `stop` with the signal's name; so does the death of the
 * parent, which no signal announces (npm killed with SIGKILL or SIGHUP, which npm does not pass on; a bench run
 * that crashed): the orphan is adopted by init or a subreaper, so its parent pid changes. That is checked every
 * `pollMs` on a timer that does not keep the process alive. `stop` decides what a second request means.
 */
export function stopOnSignalOrOrphan(stop: (why: string) => void, pollMs = 500): void {
  const parent = process.ppid;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop('parent exited');
  }, pollMs);
  watch.unref();
}

/** For one-shot children that do not need to clean up: exit at once when the parent is gone. */
export function exitWithParent(pollMs = 500): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, pollMs).unref();
}
