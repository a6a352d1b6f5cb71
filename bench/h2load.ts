import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOrderFrame, PATHS } from './grpc-frames';
import type { Driver } from './measure';
import type { PhaseResult } from './stats';

export const H2LOAD = '/usr/bin/h2load';

export const h2loadAvailable = (): boolean => existsSync(H2LOAD);

export interface H2loadOptions {
  port: number;
  concurrency: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

/**
 * The echo baseline once more, driven by h2load (native, one thread) instead of our node:http2 client: when
 * the two agree, the node client is not what limits the echo figure. h2load posts one body for every request
 * and judges success by HTTP status only, which is fine for an echo and useless for CreateOrder.
 */
export function h2loadEcho(opts: H2loadOptions): Driver {
  return (onWindow, onSpawn) => {
    // h2load announces no window: mark its edges on our own clock, at the same offsets it uses.
    const start = setTimeout(() => onWindow('start'), opts.warmupSeconds * 1000);
    const end = setTimeout(() => onWindow('end'), (opts.warmupSeconds + opts.seconds) * 1000);
    return runH2load(opts, onSpawn).finally(() => {
      clearTimeout(start);
      clearTimeout(end);
    });
  };
}

async function runH2load(opts: H2loadOptions, onSpawn: (pid: number) => void): Promise<PhaseResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-bench-'));
  const body = path.join(dir, 'echo.bin');
  writeFileSync(body, createOrderFrame('echo-payload-of-order-size'));
  const args = [
    '-c',
    String(opts.connections),
    '-m',
    String(Math.ceil(opts.concurrency / opts.connections)),
    '-t',
    '1',
    '-D',
    String(opts.seconds),
    `--warm-up-time=${opts.warmupSeconds}`,
    '-d',
    body,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '-H',
    'grpc-timeout: 10S',
    `http://127.0.0.1:${opts.port}${PATHS.echo}`,
  ];
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(H2LOAD, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? reject(new Error(`h2load failed: ${stderr}`)) : resolve(stdout),
      );
      onSpawn(child.pid as number);
    });
    return parseH2load(out, opts.seconds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseH2load(out: string, seconds: number): PhaseResult {
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
    out,
  );
  const reqPerSecond = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const perRequest = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!requests) throw new Error(`unrecognised h2load output:\n${out}`);
  const toMs = (v: string, unit: string) => Number(v) * (unit === 'us' ? 1e-3 : unit === 's' ? 1e3 : 1);
  const ops = Number(requests[4]);
  const failed = Number(requests[5]) + Number(requests[6]) + Number(requests[7]);
  // "finished in" includes the warm-up; req/s is over the measured duration only.
  const elapsed = reqPerSecond && Number(reqPerSecond[1]) > 0 ? ops / Number(reqPerSecond[1]) : seconds;
  return {
    scenario: 'echo-h2load',
    seconds: elapsed,
    ops,
    errors: failed,
    errorKinds: failed > 0 ? { 'h2load failed/errored/timeout': failed } : {},
    // h2load prints min/max/mean, no percentiles: the mean stands in for p50 and p99 is unknown.
    latency: {
      p50: perRequest ? toMs(perRequest[5], perRequest[6]) : NaN,
      p99: NaN,
      max: perRequest ? toMs(perRequest[3], perRequest[4]) : NaN,
    },
    clientCpuUs: NaN,
  };
}
