import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SERVICE_NODE_FLAGS } from '../src/infra/node-flags';
import type { WindowEdge } from './stats';

export const ROOT = path.resolve(__dirname, '..');

/**
 * The processes that serve the measured calls run with the service's Node flags, as `npm start` does: the service,
 * and the echo baseline and floors, so a ratio to echo compares the same runtime. Load clients and the gateway keep
 * Node's defaults.
 */
const SERVING_SCRIPTS = new Set(['server-main.ts', 'echo-server-main.ts']);

export const servingNodeFlags = (script: string): readonly string[] => (SERVING_SCRIPTS.has(script) ? SERVICE_NODE_FLAGS : []);

/** node itself (no tsx wrapper process), so the child's pid is the process whose CPU we read. */
function nodeArgs(script: string, args: string[] = []): string[] {
  return [...servingNodeFlags(script), '-r', 'tsx/cjs', path.join(ROOT, 'bench', script), ...args];
}

/** Every child still running, so that none outlives this process however it ends. */
const live = new Set<ChildProcess>();
let stopHandlersInstalled = false;

function track(child: ChildProcess): ChildProcess {
  if (!stopHandlersInstalled) installStopHandlers();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * A signal to the bench (Ctrl-C reaches the whole process group, `kill <pid>` only this process) is passed on:
 * every child stops cleanly, then the bench exits with the signal's code. Any other exit of the bench (an error,
 * process.exit) sends them SIGTERM on the way out. A bench killed outright can do neither: its children then
 * notice they are orphaned and stop on their own (scripts/lifecycle.ts).
 */
function installStopHandlers(): void {
  stopHandlersInstalled = true;
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1); // asked twice: do not wait
      stopping = true;
      const stopped = [...live].map((child) => stopChild(child, new Promise<void>((resolve) => child.once('exit', () => resolve()))));
      void Promise.all(stopped).then(() => process.exit(128 + constants.signals[signal]));
    });
  }
  process.on('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

export interface Daemon<T> {
  pid: number;
  info: T;
  /** SIGTERM, then waits for a clean exit (so a CPU profile gets written); SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts a long-running bench child and resolves with the JSON it announces when ready. */
export function startDaemon<T>(script: string, env: NodeJS.ProcessEnv): Promise<Daemon<T>> {
  const child = track(
    spawn(process.execPath, nodeArgs(script), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not become ready in 60 s`)), 60_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const early = (code: number | null) => fail(new Error(`${script} exited with ${code} before it was ready`));
    child.once('exit', early);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (!line.startsWith('{"ready":true')) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({ pid: child.pid as number, info: JSON.parse(line) as T, stop: () => stopChild(child, exited) });
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/**
 * Runs a one-shot bench child (load client, raw insert) to completion and parses the JSON result it prints
 * last; `onWindow` hears when its measured window opens and closes.
 */
export function runOnce<T>(
  script: string,
  args: unknown,
  onWindow: (edge: WindowEdge) => void = () => {},
  onSpawn: (pid: number) => void = () => {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, nodeArgs(script, [JSON.stringify(args)]), {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    onSpawn(child.pid as number);
    let last = '';
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const edge = /^\{"window":"(start|end)"\}$/.exec(line)?.[1] as WindowEdge | undefined;
      if (edge) onWindow(edge);
      else if (line.startsWith('{')) last = line;
    });
    child.once('close', (code) => {
      if (code !== 0 || !last) return reject(new Error(`${script} failed (exit ${code})`));
      resolve(JSON.parse(last) as T);
    });
  });
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU all processes on the machine have used so far (user, nice, system, irq, softirq), microseconds. */
export function machineBusyUs(): number {
  const cpuLine = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [, user, nice, system, , , irq, softirq] = cpuLine.trim().split(/\s+/).map(Number);
  return ((user + nice + system + irq + softirq) * 1e6) / CLOCK_TICKS;
}

/** User + system CPU a process has used so far, microseconds, from /proc (Linux); NaN when unreadable. */
export function processCpuUs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS; // utime, stime
  } catch {
    return NaN;
  }
}
