import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { residentMb } from '../../scripts/proc-status';

/**
 * Every process the chaos run starts, each the leader of its own process group (detached), so that one signal
 * to the group stops it with anything it started, and a Ctrl-C in the terminal reaches only the runner, which
 * then stops them in order. Whatever way the runner ends (a signal, an error, process.exit), no group outlives it.
 */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

const live = new Set<ChildProcess>();

export function startProc(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; log: string; cwd?: string }): Proc {
  const fd = openSync(opts.log, 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  child.once('error', () => live.delete(child));
  return { name, child, exited };
}

export const running = (p: Proc | undefined): boolean => !!p && p.child.exitCode === null && p.child.signalCode === null;

/** Sends `signal` to the process's whole group. */
export function signalGroup(p: Proc, signal: NodeJS.Signals): void {
  if (!running(p) || p.child.pid === undefined) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    // already gone
  }
}

/** `signal` (SIGTERM: a clean stop), SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProc(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (!p || !running(p)) return;
  signalGroup(p, signal);
  const killer = setTimeout(() => signalGroup(p, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(killer);
}

function killAllNow(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * On SIGINT/SIGTERM/SIGHUP: `cleanUp` (stops everything in order), then exit with the signal's code; a second
 * signal kills every group at once. On any exit, whatever still runs is killed.
 */
export function stopEverythingOnExit(cleanUp: () => Promise<void>): void {
  process.on('exit', killAllNow);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        killAllNow();
        process.exit(128 + constants.signals[signal]);
      }
      stopping = true;
      console.error(`[chaos] ${signal}: stopping every process it started…`);
      void cleanUp()
        .catch(() => undefined)
        .finally(() => process.exit(128 + constants.signals[signal]));
    });
  }
}

/** Resident set size of a process, MB (from /proc); NaN when it is not running. */
export function rssMb(p: Proc | undefined): number {
  return p && running(p) ? residentMb(p.child.pid) : NaN;
}

/** Polls `probe` every 100 ms until it is truthy; throws `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free right now on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

const RUN_DIR_PREFIX = 'paysvc-chaos-';

/** The run's temporary directory, marked with the runner's pid so that a later run can tell whether it is orphaned. */
export function makeRunDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), RUN_DIR_PREFIX));
  writeFileSync(path.join(dir, 'runner.pid'), String(process.pid));
  return dir;
}

/**
 * What a runner killed outright (-9) left behind: its instances stop by themselves (they watch their parent), but
 * MariaDB and Redis cannot. Each directory of a runner that no longer runs has its servers killed (only a process
 * whose command line names that directory) and is removed. Returns how many were cleaned.
 */
export function reapOrphanedRuns(): number {
  let reaped = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = path.join(tmpdir(), name);
    const runner = readPid(path.join(dir, 'runner.pid'));
    if (runner === undefined || alive(runner)) continue;
    for (const pidFile of ['mariadb/mysqld.pid', 'redis/redis.pid']) {
      const pid = readPid(path.join(dir, pidFile));
      if (pid !== undefined && alive(pid) && belongsTo(pid, dir)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    reaped += 1;
  }
  return reaped;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process is the run's own: its command line names the directory (mariadbd) or it works in it (Redis). */
function belongsTo(pid: number, dir: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) return true;
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
  } catch {
    return false;
  }
}
