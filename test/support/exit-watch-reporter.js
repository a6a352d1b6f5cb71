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

/** Every live process below this one (from /proc), so a child a test left running is named and stopped too. */
function descendants() {
  const fs = require('node:fs');
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const list = children.get(Number(ppid)) ?? [];
      list.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
      children.set(Number(ppid), list);
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const queue = [process.pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/**
 * JEST_EXIT_WATCH_TRACE=1: remember where each timer was made, so a timer that keeps the process alive is named
 * by its stack (timers are not handles in Node 20). Off by default: the hook costs time on every timer.
 */
const timerStacks = new Map();
if (process.env.JEST_EXIT_WATCH_TRACE === '1') {
  require('node:async_hooks')
    .createHook({
      init(id, type, _trigger, resource) {
        if (type === 'Timeout') timerStacks.set(id, { resource, stack: new Error().stack.split('\n').slice(2, 14).join('\n') });
      },
      destroy(id) {
        timerStacks.delete(id);
      },
    })
    .enable();
}

class ExitWatchReporter {
  onRunComplete() {
    setTimeout(() => {
      const handles = (process._getActiveHandles?.() ?? []).filter((h) => !h?._isStdio);
      process.stderr.write(
        `\n[exit-watch] Jest is still running ${EXIT_WATCH_MS} ms after the last test: a test left something open.\n` +
          `[exit-watch] resources: ${JSON.stringify(process.getActiveResourcesInfo?.() ?? [])}\n` +
          handles.map((h) => `[exit-watch]   ${describeHandle(h)}\n`).join('') +
          [...timerStacks.values()]
            .filter(({ resource }) => !resource._destroyed && resource.hasRef?.())
            .map(({ resource, stack }) => `[exit-watch]   timer of ${resource._idleTimeout} ms made at\n${stack}\n`)
            .join('') +
          '[exit-watch] ending the process so CI does not hang; fix the test that leaked it.\n',
      );
      // A child left running would outlive Jest and could hold CI's output open: stop it too.
      let left = [];
      try {
        left = descendants();
      } catch {
        // no /proc: nothing to list
      }
      for (const { pid, comm } of left) {
        process.stderr.write(`[exit-watch]   child process ${pid} (${comm}): killed\n`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.exit();
    }, EXIT_WATCH_MS).unref();
  }
}

module.exports = ExitWatchReporter;
