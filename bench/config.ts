import { mintCaller, tokenSha256 } from '../src/grpc/caller-token';

/** The bench's knobs, all from the environment so `npm run bench` needs no arguments. */
export interface BenchConfig {
  /** BENCH_SECONDS (8): measured seconds per scenario, after the warm-up. */
  seconds: number;
  /**
   * BENCH_WARMUP_SECONDS (15): load before the measured window, so it measures the service as it runs for days.
   * With 2 s, V8's optimizing compiler was still at work in the window (its threads took ~20 % of a core, and the
   * main thread still ran much of the hot code in its baseline tier): CreateOrder measured 672 µs of CPU per call
   * where the same build measured 528 µs after 20 s.
   */
  warmupSeconds: number;
  /** BENCH_CONCURRENCY (32): requests (or transactions) in flight at any time, in every scenario. */
  concurrency: number;
  /**
   * BENCH_CONNECTIONS (4): HTTP/2 connections the load client spreads its workers over. Over one, client and
   * server fall into lockstep (each handles a whole batch while the other waits) and the echo figure drops by
   * a third to a half; with a few they overlap.
   */
  connections: number;
  /** BENCH_DB_POOL (10, the service's default): DATABASE_POOL_SIZE; raw insert uses a connection per worker. */
  dbPoolSize: number;
  /** BENCH_GATEWAY (inproc | process): the mock channel's sandbox gateway inside the service process or its own. */
  gateway: 'inproc' | 'process';
  /**
   * BENCH_ONLY: comma list of echo, h2load, raw-insert, create, create-no-timeout, create-prepay, query, notify;
   * empty = all (create and query bring their floors, run.ts's floors()). Also growth (growth.ts: 1 M orders loaded; BENCH_GROWTH_ORDERS, BENCH_GROWTH_BASE,
   * BENCH_GROWTH_RUNS), only when named.
   */
  only: string[];
  /**
   * BENCH_NOTIFY_ORDERS (0 = 1,000 per warm-up and measured second; 500 ran out on a faster machine): PAYING
   * orders made for the "notify, first delivery" scenario, one notify each, all signed before its warm-up (~0.3 ms
   * each). Running out is an error.
   */
  notifyOrders: number;
  /** BENCH_CPU_PROF=<dir>: profile the service over each measured window (profiler.ts) and print its hot spots. */
  cpuProfDir: string | undefined;
  /** BENCH_H2LOAD (1; 0 = off): also drive the echo server with h2load, to show what our client costs. */
  h2load: boolean;
  /**
   * BENCH_DATABASE (paysvc_bench): scratch database, dropped and recreated on every run; on the local MariaDB, or
   * on BENCH_DATABASE_SERVER (a mysql:// URL, e.g. a Galera node: see services.ts).
   */
  database: string;
  /**
   * BENCH_REDIS_CLUSTER_NODES (none): run the service scenarios (create, create-prepay, query, notify) on this Redis
   * Cluster (`host:port,…`, e.g. scripts/redis-cluster.sh's) instead of the single Redis of services.sh.
   */
  redisClusterNodes: string | undefined;
  /**
   * BENCH_ROUNDS (1, at most 9): run the selected scenarios this many times in turn, each round with its own echo
   * baseline, and report each round's table under a summary of every round's CPU per op and its median. This
   * machine's speed moves by a quarter within an hour, the database's own CPU per statement with it: one run can
   * land in a slow spell, a median of rounds rarely does.
   */
  rounds: number;
}

function num(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number in [${min}, ${max}], got ${raw}`);
  return n;
}

export function loadBenchConfig(): BenchConfig {
  const gateway = process.env.BENCH_GATEWAY ?? 'inproc';
  if (gateway !== 'inproc' && gateway !== 'process') throw new Error(`BENCH_GATEWAY must be inproc or process, got ${gateway}`);
  const database = process.env.BENCH_DATABASE ?? 'paysvc_bench';
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error(`BENCH_DATABASE must match [a-z0-9_]+, got ${database}`);
  return {
    seconds: num('BENCH_SECONDS', 8, 1, 600),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 15, 0, 120),
    concurrency: Math.floor(num('BENCH_CONCURRENCY', 32, 1, 1000)),
    connections: Math.floor(num('BENCH_CONNECTIONS', 4, 1, 64)),
    dbPoolSize: Math.floor(num('BENCH_DB_POOL', 10, 1, 200)),
    gateway,
    notifyOrders: Math.floor(num('BENCH_NOTIFY_ORDERS', 0, 0, 500_000)),
    only: (process.env.BENCH_ONLY ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
    h2load: process.env.BENCH_H2LOAD !== '0',
    database,
    redisClusterNodes: process.env.BENCH_REDIS_CLUSTER_NODES || undefined,
    rounds: Math.floor(num('BENCH_ROUNDS', 1, 1, 9)),
  };
}

/** Shared by the service child and a separate gateway child (BENCH_GATEWAY=process). */
export const BENCH_MOCK_SECRET = 'bench-mock-channel-secret';

/**
 * The bench's caller token: minted by the first process that asks (bench/run.ts, before it starts any child)
 * and inherited by the service and the load clients through BENCH_TOKEN, so the token is never written down.
 */
export function benchToken(): string {
  process.env.BENCH_TOKEN ??= mintCaller('bench', { tenants: '*', permissions: ['pay', 'operate'] }).token;
  return process.env.BENCH_TOKEN;
}

/** PAYSVC_CALLERS for the service under test: the bench's caller, every tenant, both permissions. */
export const benchCallers = (): string =>
  JSON.stringify([{ name: 'bench', tokenSha256: tokenSha256(benchToken()), tenants: '*', permissions: ['pay', 'operate'] }]);
