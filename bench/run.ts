/**
 * `npm run bench`: throughput and p50/p99 latency of CreateOrder, CreateOrder+Prepay (mock channel) and
 * Query (sync=false) at a fixed concurrency, next to two baselines measured in the same run: a bare grpc-js
 * unary echo server and a raw BEGIN; INSERT; COMMIT loop through the mariadb driver. Writes the table to
 * bench/results/latest.md as well. Knobs: see config.ts (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_ONLY, ...).
 *
 * Processes. Every party runs in its own process, so the load never shares a Node thread with the server:
 * the service (server-main.ts, startService on an ephemeral port, logs silent, the mock gateway inside it by
 * default as in the component tests), the echo server (echo-server-main.ts), the load client
 * (load-client.ts) and the raw-insert loop (raw-insert.ts). This process only orchestrates and reads CPU
 * times from /proc at the edges of each measured window, which the load process announces on stdout.
 *
 * Why a node:http2 load client and not h2load. h2load (nghttp2-client) is the cheaper generator, but it posts
 * one body, read once from the -d file, for every request, and CreateOrder is idempotent on
 * (tenant_id, out_order_no): every call after the first would be a replay (a SELECT, not an INSERT), which is
 * not the path we want to measure. h2load also judges success by HTTP status only, while gRPC reports errors
 * in the grpc-status trailer of an HTTP 200, so it could not count errors either. load-client.ts therefore
 * sends pre-encoded gRPC frames over raw node:http2 streams (no grpc-js client, whose ~170 µs of CPU per call
 * would cap the load near 5 k/s), splices a unique out_order_no into a CreateOrder body encoded once with the
 * generated CreateOrderRequest.encode, and reads grpc-status from the trailers. The echo baseline is driven by
 * the same client, and once more by h2load as a cross-check: the node client costs ~80 µs of CPU per call
 * against h2load's ~8, so on two cores it caps the echo row below what grpc-js alone could serve, and the gap
 * between the two echo rows is that cap. The service rows run at a tenth of that rate, where it does not bite.
 *
 * Scenarios. Echo and CreateOrder send the same bytes. CreateOrder+Prepay is one op of two sequential calls
 * (CreateOrder, then Prepay with PAY_WAY_MOCK on that order), with each leg's latency shown too. Query
 * (sync=false) reads, round robin, the orders that CreateOrder+Prepay left behind (each with one attempt).
 * Each service scenario gets a fresh service process, so a CPU profile (BENCH_CPU_PROF) covers one scenario.
 * create-no-timeout is CreateOrder once more with the order-timeout scheduling switched off, so the two rows
 * tell the INSERT path from the timeout's Redis job.
 *
 * Notify (BENCH_ONLY=notify). The sidecar's answer path for real WeChat Pay v3 notifies, which WeChat gives
 * 5 s: a tenant's WeChat account (fresh sandbox keys) and PAYING orders are written to the scratch database
 * before the service starts (notify-fixture.ts); notify-load.ts, a node:http keep-alive client, posts notifies
 * it signed before its warm-up. "notify, duplicate" re-delivers one applied notify; "notify, first delivery"
 * sends one per order. Their p99 is reported against the 5 s, and notify_record shows which path they took.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, runOnce, startDaemon, type Daemon } from './children';
import { benchToken, loadBenchConfig, type BenchConfig } from './config';
import { h2loadAvailable, h2loadEcho } from './h2load';
import type { LoadArgs, LoadScenario } from './load-client';
import { measured, type Driver } from './measure';
import type { NotifyLoadArgs, NotifyScenario } from './notify-load';
import { prepareNotifyFixture } from './notify-fixture';
import { summarizeProfile } from './profile-top';
import type { RawInsertArgs } from './raw-insert';
import { renderReport, renderRounds, type Report, type Row } from './report';
import { parseClusterNodes } from '../src/infra/redis';
import { closeDb, createDb } from '../src/infra/db';
import { foldAllStatsDeltas } from '../src/repo/stats-fold';
import { benchQueuePrefixes, removeBenchQueues, type BenchQueuePrefixes } from './queues';
import { localRedisPids, prepareServices, type BenchServices } from './services';
import { writeGrowthReport } from './growth';
import type { WindowEdge } from './stats';

type Ready = { grpcPort: number; httpPort: number; gatewayUrl?: string };

/** WeChat Pay gives up on a notify attempt it has no answer to after 5 s (and retries later). */
const WECHAT_ANSWER_BUDGET_MS = 5000;

/** What one scenario's notifies came to in notify_record, warm-up included; ⚠ beyond `allowed` (result -> most rows). */
function pathNote(before: Record<string, number>, after: Record<string, number>, allowed: Record<string, number>): string {
  const delta = Object.entries(after)
    .map(([result, n]) => [result, n - (before[result] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const text = delta.map(([result, n]) => `${n.toLocaleString('en-US')} ${result}`).join(', ') || 'nothing';
  const off = delta.some(([result, n]) => n > (allowed[result] ?? 0));
  return `${off ? '⚠ not the path meant to be measured — ' : ''}notify_record over the run (warm-up included): ${text}.`;
}

class Bench {
  readonly rows: Row[] = [];
  readonly profiles: string[] = [];
  private readonly scratch = mkdtempSync(path.join(tmpdir(), 'paysvc-bench-'));
  private readonly queryIds = path.join(this.scratch, 'order-ids.txt');

  /**
   * Every service scenario's own queue prefixes, removed at the end. Own, so that no service runs the jobs an earlier
   * scenario scheduled (create-prepay's status queries, the first 60 s after a Prepay, fell into the notify windows
   * once the warm-up was 15 s: +0.5 statements and ~20 % more CPU per duplicate notify).
   */
  readonly queues: BenchQueuePrefixes[] = [];

  /** The mock gateway's process while the service scenarios run with BENCH_GATEWAY=process. */
  private gatewayPid: number | undefined;

  constructor(
    private readonly cfg: BenchConfig,
    private readonly services: BenchServices,
    private readonly redisPids: readonly number[],
  ) {}

  private want(name: string): boolean {
    return this.cfg.only.length === 0 || this.cfg.only.includes(name);
  }

  private load(scenario: LoadScenario, port: number, extra: Partial<LoadArgs> = {}): LoadArgs {
    const { concurrency, connections, warmupSeconds, seconds } = this.cfg;
    return { scenario, port, concurrency, connections, warmupSeconds, seconds, ...extra };
  }

  private step(label: string): void {
    process.stderr.write(`[bench] ${label}…\n`);
  }

  /**
   * Folds the statistics deltas an earlier step left (src/repo/stats-fold.ts), before a measured window opens: the
   * CreateOrder floor inserts into pay_order with no service (no fold) running, and the ~100,000 deltas its
   * triggers appended were folded by whichever service came next, inside that scenario's window (the next round's
   * CreateOrder, or the notify rows). A service's own deltas are folded by that service, in its own window.
   */
  private async settle(): Promise<void> {
    const db = createDb(this.services.databaseUrl, 2);
    try {
      const folded = await foldAllStatsDeltas(db);
      if (folded > 0) process.stderr.write(`[bench] folded ${folded.toLocaleString('en-US')} statistics deltas left by earlier steps\n`);
    } finally {
      await closeDb(db);
    }
  }

  private measure(pids: { server?: number }, driver: Driver, onEdge?: (edge: WindowEdge) => void) {
    const ours = { ...pids, db: this.services.mariadbPid, redis: this.redisPids, gateway: this.gatewayPid };
    return measured(ours, this.services.statementsRun, driver, onEdge);
  }

  private loadClient(args: LoadArgs): Driver {
    return (onWindow, onSpawn) => runOnce('load-client.ts', args, onWindow, onSpawn);
  }

  async echo(): Promise<void> {
    if (!this.want('echo') && !this.want('h2load')) return;
    const echo = await startDaemon<Ready>('echo-server-main.ts', {});
    const port = echo.info.grpcPort;
    try {
      if (this.want('echo')) {
        this.step('echo baseline (node:http2 client)');
        const m = await this.measure({ server: echo.pid }, this.loadClient(this.load('echo', port)));
        this.rows.push({ label: 'echo: bare grpc-js unary', ...m });
      }
      if (this.want('h2load') && this.cfg.h2load && h2loadAvailable()) {
        this.step('echo baseline again, driven by h2load');
        const { concurrency, connections, warmupSeconds, seconds } = this.cfg;
        const m = await this.measure({ server: echo.pid }, h2loadEcho({ port, concurrency, connections, warmupSeconds, seconds }));
        this.rows.push({ label: 'echo, h2load as client (cross-check)', ...m, meanOnly: true });
      }
    } finally {
      await echo.stop();
    }
  }

  /**
   * The floors under CreateOrder and Query (echo-server-main.ts, BENCH_ECHO_SQL): grpc-js echo plus the hot path's own
   * repository statement on the service's pool, nothing else. Run after create-prepay (query's floor reads its
   * orders) and with the scenario they sit under.
   */
  async floors(): Promise<void> {
    const floors = [
      { mode: 'create', scenario: 'create', label: "floor: echo + CreateOrder's INSERT" },
      { mode: 'query', scenario: 'query', label: "floor: echo + Query's statement (findOrderView)" },
      { mode: 'order-row', scenario: 'query', label: "below Query: echo + the order's row alone" },
      { mode: 'round-trip', scenario: 'query', label: 'below Query: echo + SELECT 1' },
    ] as const;
    for (const f of floors) {
      if (!this.want(f.scenario)) continue;
      await this.settle();
      this.step(f.label);
      const server = await startDaemon<Ready>('echo-server-main.ts', {
        BENCH_ECHO_SQL: f.mode,
        DATABASE_URL: this.services.databaseUrl,
        DATABASE_POOL_SIZE: String(this.cfg.dbPoolSize),
        BENCH_IDS_FILE: this.queryIds,
      });
      try {
        const m = await this.measure({ server: server.pid }, this.loadClient(this.load('echo', server.info.grpcPort)));
        this.rows.push({ label: f.label, ...m });
      } finally {
        await server.stop();
      }
    }
  }

  async rawInsert(): Promise<void> {
    if (!this.want('raw-insert')) return;
    this.step('raw INSERT transaction baseline');
    const { concurrency, warmupSeconds, seconds } = this.cfg;
    const args: RawInsertArgs = { databaseUrl: this.services.databaseUrl, concurrency, warmupSeconds, seconds };
    const m = await this.measure({}, (onWindow, onSpawn) => runOnce('raw-insert.ts', args, onWindow, onSpawn));
    this.rows.push({ label: 'raw INSERT tx (mariadb driver)', ...m });
  }

  /** One fresh service process per scenario, so each gets its own CPU profile and no carried-over heap. */
  private async withService(
    key: string,
    label: string,
    gatewayUrl: string | undefined,
    driver: (s: Ready) => Driver,
    env: NodeJS.ProcessEnv = {},
  ): Promise<Row> {
    await this.settle();
    this.step(label);
    const profileFile = this.cfg.cpuProfDir && path.resolve(this.cfg.cpuProfDir, `service-${key}.cpuprofile`);
    const queues = benchQueuePrefixes();
    this.queues.push(queues);
    const service = await startDaemon<Ready>('server-main.ts', {
      ...env,
      DATABASE_URL: this.services.databaseUrl,
      ...(this.cfg.redisClusterNodes ? { REDIS_CLUSTER_NODES: this.cfg.redisClusterNodes } : { REDIS_URL: this.services.redisUrl }),
      DATABASE_POOL_SIZE: String(this.cfg.dbPoolSize),
      ...queues,
      ...(gatewayUrl ? { BENCH_GATEWAY_URL: gatewayUrl } : {}),
      ...(profileFile ? { BENCH_PROFILE_FILE: profileFile } : {}),
    });
    let row: Row;
    try {
      const m = await this.measure(
        { server: service.pid },
        driver(service.info),
        () => profileFile && process.kill(service.pid, 'SIGUSR2'), // profiler.ts: start, then stop
      );
      row = { label, ...m };
      this.rows.push(row);
    } finally {
      await service.stop();
    }
    if (profileFile) this.profiles.push(`## CPU profile of the service: ${label}\n\n${summarizeProfile(profileFile)}`);
    return row;
  }

  async serviceScenario(scenario: LoadScenario, label: string, gatewayUrl: string | undefined): Promise<void> {
    if (!this.want(scenario)) return;
    if (scenario === 'query' && !this.want('create-prepay')) {
      throw new Error('the query scenario reads the orders create-prepay makes: run both');
    }
    // create-prepay leaves its orders' ids behind; query reads them.
    const ids = scenario === 'create-prepay' ? { idsOut: this.queryIds } : scenario === 'query' ? { idsIn: this.queryIds } : {};
    await this.withService(scenario, label, gatewayUrl, (s) => this.loadClient(this.load(scenario, s.grpcPort, ids)));
  }

  /**
   * CreateOrder again, in a service whose order-timeout scheduling is a no-op (server-main.ts,
   * BENCH_NO_TIMEOUT_JOBS): the difference to the CreateOrder row is what the timeout's BullMQ job costs per order.
   */
  async createWithoutTimeoutJobs(gatewayUrl: string | undefined): Promise<void> {
    if (!this.want('create-no-timeout')) return;
    await this.withService(
      'create-no-timeout',
      'CreateOrder, no timeout job (BENCH_NO_TIMEOUT_JOBS)',
      gatewayUrl,
      (s) => this.loadClient(this.load('create', s.grpcPort)),
      { BENCH_NO_TIMEOUT_JOBS: '1' },
    );
  }

  /**
   * The notify sidecar's answer path (notify-load.ts): a WeChat tenant and its PAYING orders are written to the
   * scratch database first, then each sub-scenario gets its own service. notify_record tells which path ran.
   */
  async notifyScenarios(gatewayUrl: string | undefined): Promise<void> {
    if (!this.want('notify')) return;
    const { concurrency, warmupSeconds, seconds, notifyOrders } = this.cfg;
    this.step('notify: WeChat tenant and PAYING orders');
    const orders = notifyOrders || Math.max(1000, (warmupSeconds + seconds) * 1000);
    const setup = await prepareNotifyFixture(this.services.databaseUrl, orders);
    const fixtureFile = path.join(this.scratch, 'notify-fixture.json');
    writeFileSync(fixtureFile, JSON.stringify(setup.fixture), { mode: 0o600 });
    const run = async (scenario: NotifyScenario, label: string, allowed: Record<string, number>) => {
      const before = await setup.resultCounts();
      const row = await this.withService(scenario, label, gatewayUrl, (s) => {
        const args: NotifyLoadArgs = { scenario, port: s.httpPort, fixtureFile, concurrency, warmupSeconds, seconds };
        return (onWindow, onSpawn) => runOnce('notify-load.ts', args, onWindow, onSpawn);
      });
      row.budgetMs = WECHAT_ANSWER_BUDGET_MS;
      row.note = pathNote(before, await setup.resultCounts(), allowed);
    };
    try {
      // The one PROCESSED of the duplicate scenario is its priming delivery.
      await run('notify-duplicate', 'notify, duplicate', { DUPLICATE: Infinity, PROCESSED: 1 });
      await run('notify-first', 'notify, first delivery', { PROCESSED: Infinity });
    } finally {
      await setup.close();
    }
  }

  async serviceScenarios(): Promise<void> {
    let gateway: Daemon<Ready> | undefined;
    if (this.cfg.gateway === 'process') gateway = await startDaemon<Ready>('gateway-main.ts', {});
    this.gatewayPid = gateway?.pid;
    try {
      const url = gateway?.info.gatewayUrl;
      await this.serviceScenario('create', 'CreateOrder', url);
      await this.createWithoutTimeoutJobs(url);
      await this.serviceScenario('create-prepay', 'CreateOrder + Prepay (PAY_WAY_MOCK)', url);
      await this.serviceScenario('query', 'Query (sync=false)', url);
      await this.floors();
      await this.notifyScenarios(url);
    } finally {
      this.gatewayPid = undefined;
      await gateway?.stop();
    }
  }

  close(): void {
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  benchToken(); // minted here, before any child starts, so the service and the load clients share it
  const cfg = loadBenchConfig();
  const loadAvgAtStart = loadavg(); // before the services start: the first round's
  if (cfg.cpuProfDir) mkdirSync(cfg.cpuProfDir, { recursive: true });
  const services = await prepareServices(cfg.database);
  const clusterNodes = cfg.redisClusterNodes ? parseClusterNodes(cfg.redisClusterNodes) : undefined;
  const bench = new Bench(cfg, services, await localRedisPids(clusterNodes ?? [services.redisUrl]));
  const rounds: Report[] = [];
  try {
    for (let round = 1; round <= cfg.rounds; round++) {
      if (cfg.rounds > 1) process.stderr.write(`[bench] round ${round} of ${cfg.rounds}\n`);
      const roundLoad = round === 1 ? loadAvgAtStart : loadavg();
      await bench.echo();
      await bench.rawInsert();
      await bench.serviceScenarios();
      const rows = bench.rows.splice(0);
      const byLabel = (prefix: string) => rows.find((r) => r.label.startsWith(prefix))?.result;
      rounds.push({ config: cfg, loadAvgAtStart: roundLoad, rows, echo: byLabel('echo: bare'), rawInsert: byLabel('raw INSERT') });
    }
    // Minutes of loading: only when asked for by name (BENCH_ONLY=growth, npm run bench:growth); see growth.ts.
    if (cfg.only.includes('growth')) await writeGrowthReport(services.databaseUrl);
  } finally {
    bench.close();
    await services.close();
    // The services are gone; their orders' timeout jobs and any events must not outlive the run.
    const redis = clusterNodes ? { kind: 'cluster' as const, nodes: clusterNodes } : services.redisUrl;
    let removed = 0;
    for (const queues of bench.queues) removed += await removeBenchQueues(redis, queues);
    process.stderr.write(`[bench] removed ${removed} Redis keys under the ${bench.queues.length} scenarios' queue prefixes\n`);
  }
  if (rounds.every((rep) => rep.rows.length === 0)) return; // growth alone: its own report, bench/results/growth.md
  const table = rounds.length === 1 ? renderReport(rounds[0]) : renderRounds(rounds);
  const markdown = [table, ...bench.profiles].join('\n\n');
  const out = path.join(ROOT, 'bench/results/latest.md');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${markdown}\n`);
  console.log(markdown);
  console.log(`\n(written to ${path.relative(process.cwd(), out)})`);
  if (rounds.some((rep) => rep.rows.some((r) => r.result.errors > 0))) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
