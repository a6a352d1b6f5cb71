import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, freePort, uniq } from '../support/harness';

/**
 * `npm run dev`, `npm run sandbox` and a bench daemon, as real processes: however the process that started them
 * ends (a signal to npm's pid, npm killed outright), nothing they started may go on holding a port.
 */
const ROOT = path.resolve(__dirname, '../..');
const STARTUP_MS = 120_000; // dev generates nothing here, but migrates and starts a whole stack on a loaded machine
jest.setTimeout(4 * STARTUP_MS);

/** A process's parent pid and state from /proc, or undefined once it is gone. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), state };
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    const parent = Number.isInteger(p) ? procStat(p)?.ppid : undefined;
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Gone, or a zombie waiting for whatever adopted it to reap it: either way it runs nothing and holds nothing. */
const running = (pid: number) => {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z';
};

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

interface Started {
  root: ChildProcess;
  /** The root process and everything it started, once the stack is up. */
  tree: number[];
  ports: number[];
  output: () => string;
}

/** Spawns `command` in a process group of its own and waits until its output shows `ready`. */
async function start(command: string[], env: Record<string, string>, ports: number[], ready: RegExp): Promise<Started> {
  const root = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a stray Ctrl-C or group signal here reaches nothing else
  });
  let out = '';
  root.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  root.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    root.once('exit', (code) => reject(new Error(`exited with ${code} before it was up:\n${out}`))),
  );
  try {
    await Promise.race([eventually(async () => ready.test(out), STARTUP_MS), exited]);
  } catch (err) {
    for (const pid of processTree(root.pid!).filter(running)) process.kill(pid, 'SIGKILL');
    throw err;
  }
  root.removeAllListeners('exit');
  for (const port of ports) expect(await listening(port)).toBe(true);
  return { root, tree: processTree(root.pid!), ports, output: () => out };
}

/** Waits until no process of the tree runs and no port listens; kills what is left (ours only) if that fails. */
async function expectAllStopped(s: Started): Promise<void> {
  try {
    await eventually(async () => {
      const ports = await Promise.all(s.ports.map(listening));
      return !s.tree.some(running) && !ports.some(Boolean);
    }, 60_000);
  } catch (err) {
    const left = s.tree.filter(running);
    const stillListening = (await Promise.all(s.ports.map(listening))).flatMap((on, i) => (on ? [s.ports[i]] : []));
    for (const pid of left) process.kill(pid, 'SIGKILL');
    throw new Error(`still running: ${left.join(', ') || 'none'}; still listening: ${stillListening.join(', ') || 'none'}\n${s.output()}`, {
      cause: err,
    });
  }
}

async function devPorts() {
  const [grpc, http, mock, alipay, wechat] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  return {
    list: [grpc, http, mock, alipay, wechat],
    env: {
      GRPC_PORT: String(grpc),
      HTTP_PORT: String(http),
      MOCK_GATEWAY_PORT: String(mock),
      ALIPAY_SANDBOX_PORT: String(alipay),
      WECHAT_SANDBOX_PORT: String(wechat),
    },
  };
}

/** A dev stack of the test's own: its own database (tenant "demo" and its accounts) and queue prefixes. */
async function startDev(): Promise<Started> {
  const ports = await devPorts();
  const env = {
    ...ports.env,
    PAYSVC_DEV_DB: `${process.env.PAYSVC_TEST_DB ?? 'paysvc_test'}_dev`,
    QUEUE_PREFIX: `{${uniq('devstop')}}`,
    EVENT_QUEUE_PREFIX: `{${uniq('devstopev')}}`,
  };
  return start(['npm', 'run', 'dev'], env, ports.list, /paysvc is up/);
}

describe('stopping the local stack', () => {
  it('When npm run dev gets SIGTERM at its npm pid, then the service and the sandboxes stop and every port is free', async () => {
    const dev = await startDev();
    expect(dev.tree.length).toBeGreaterThan(1);
    process.kill(dev.root.pid!, 'SIGTERM');
    await expectAllStopped(dev);
    expect(dev.output()).toMatch(/\[dev\] SIGTERM: stopping the service/);
    expect(dev.output()).toMatch(/\[dev\] stopped\./);
  });

  it('When the npm of npm run dev dies without passing anything on (SIGKILL), then the stack notices and stops', async () => {
    const dev = await startDev();
    process.kill(dev.root.pid!, 'SIGKILL');
    await expectAllStopped(dev);
    expect(dev.output()).toMatch(/\[dev\] parent exited: stopping the service/);
  });

  it('When npm run sandbox gets SIGHUP at its npm pid (which npm does not pass on), then the sandboxes stop', async () => {
    const ports = await devPorts();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'paysvc-sandbox-')); // its keys and account files
    try {
      const sandbox = await start(
        ['npm', 'run', 'sandbox'],
        { ...ports.env, PAYSVC_DATA_DIR: dataDir },
        ports.list.slice(2),
        /sandboxes up/,
      );
      process.kill(sandbox.root.pid!, 'SIGHUP');
      await expectAllStopped(sandbox);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('When the process that started a bench daemon is killed outright, then the daemon stops; when it is signalled, it stops the daemon first', async () => {
    // A stand-in for bench/run.ts: starts the gateway daemon through bench/children.ts and prints its pid.
    const parentScript = `require('./bench/children').startDaemon('gateway-main.ts', {}).then((d) => console.log('daemon ' + d.pid + ' ' + d.info.gatewayUrl));`;
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const bench = await start([process.execPath, '-r', 'tsx/cjs', '-e', parentScript], {}, [], /daemon \d+ http/);
      const [, pid, url] = /daemon (\d+) (\S+)/.exec(bench.output())!;
      const port = Number(new URL(url).port);
      expect(bench.tree).toContain(Number(pid));
      process.kill(bench.root.pid!, signal);
      await expectAllStopped({ ...bench, ports: [port] });
    }
  });
});
