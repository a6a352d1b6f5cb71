/**
 * A Jest reporter that keeps a finished run from hanging CI. Jest runs the suites in its own process
 * (maxWorkers: 1), so a socket, timer or child process a test forgot keeps that process alive after the last
 * test, silently, until CI's own time limit. When the process is still alive EXIT_WATCH_MS after the run, this
 * prints what keeps it alive (so the leak can be fixed) and ends it with the run's own exit code: Jest sets that
 * code in its 'exit' handler, which still runs.
 */
const EXIT_WATCH_MS = Number(process.env.JEST_EXIT_WATCH_MS ?? 20_000);

function describeHandle(h) {
  const name = h?.constructor?.name ?? typeof h;
  if (name === 'ChildProcess') return `ChildProcess pid=${h.pid} ${JSON.stringify(h.spawnargs)}`;
  if (name === 'Socket' || name === 'TLSSocket') {
    const fd = h._handle?.fd;
    return `${name} ${h.localAddress ?? ''}:${h.localPort ?? ''} -> ${h.remoteAddress ?? ''}:${h.remotePort ?? ''} fd=${fd ?? '?'}${h._isStdio ? ' (stdio)' : ''}`;
  }
  if (name === 'Server') return `Server ${JSON.stringify(h.address?.())}`;
  if (name === 'Timeout') return `Timeout ${h._idleTimeout} ms ${String(h._onTimeout).slice(0, 160).replace(/\s+/g, ' ')}`;
  return name;
}

class ExitWatchReporter {
  onRunComplete() {
    setTimeout(() => {
      const handles = (process._getActiveHandles?.() ?? []).filter((h) => !h?._isStdio);
      process.stderr.write(
        `\n[exit-watch] Jest is still running ${EXIT_WATCH_MS} ms after the last test: a test left something open.\n` +
          `[exit-watch] resources: ${JSON.stringify(process.getActiveResourcesInfo?.() ?? [])}\n` +
          handles.map((h) => `[exit-watch]   ${describeHandle(h)}\n`).join('') +
          '[exit-watch] ending the process so CI does not hang; fix the test that leaked it.\n',
      );
      process.exit();
    }, EXIT_WATCH_MS).unref();
  }
}

module.exports = ExitWatchReporter;
