/**
 * Growth (`BENCH_ONLY=growth npm run bench`, or `npm run bench:growth`): is every read flat as the tables grow?
 * BENCH_GROWTH_BASE orders (2,000) of one tenant are loaded (growth-load.ts) and every query is timed through the
 * service's own code (use cases and repository functions, on a Prisma client like the service's); then the tenant
 * grows to BENCH_GROWTH_ORDERS (1,000,000) over the same 90 days, other tenants get a twentieth of that, and each
 * query is timed again. Times are medians of BENCH_GROWTH_RUNS (9) calls after one warm-up. Every statement a query
 * ran is EXPLAINed on the loaded tables; a plan that reads a whole table or index is flagged. Last, the cost the
 * statistics triggers add to a write: the service's write statements timed with and without them. Written to
 * bench/results/growth.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { createConnection, createPool, type Connection } from 'mariadb';
import { getStatistics } from '../src/app/get-statistics';
import { listOrders } from '../src/app/list-orders';
import { registerTenant, Tenants } from '../src/app/tenants';
import type { Deps } from '../src/app/deps';
import type { OrderStatus } from '../src/domain/order-status';
import { canonicalTimeZone } from '../src/domain/time-zones';
import { closeDb, createDbOnPool, dbPoolConfig, type Db } from '../src/infra/db';
import { mysqlConnection } from '../src/infra/mysql-url';
import { findOrderView } from '../src/repo/order-view';
import { claimPendingEvents, findStaleQueuedEvents, hasPendingEvents, outboxBacklog } from '../src/repo/outbox';
import {
  countOverdueOrders,
  findDueOrders,
  findStaleAttempts,
  findStalePendingRefunds,
  findUnrefundedPaidAfterClose,
} from '../src/repo/sweeps';
import { foldAllStatsDeltas } from '../src/repo/stats-fold';
import { runTx } from '../src/repo/tx';
import { ROOT } from './children';
import { loadOrders, LOAD_PAY_WAYS } from './growth-load';
import { triggerCost, type TriggerCost } from './growth-writes';

const BIG = 'growth-big';
const OTHERS = ['growth-t1', 'growth-t2', 'growth-t3', 'growth-t4', 'growth-t5'];
const PAGE = 20;
const DAY_MS = 86400_000;

function num(name: string, fallback: number): number {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

interface Statement {
  query: string;
  params: string;
}

/**
 * A client like the service's (createDb, same pool settings) whose driver pool tells which statements it ran: Prisma's
 * and the raw ones (the hot paths and transactions run on the driver directly), pooled or on a held connection.
 */
function tracedDb(databaseUrl: string): { db: Db; ran: Statement[] } {
  const ran: Statement[] = [];
  const note = (sql: unknown, values: unknown) => {
    const text = typeof sql === 'string' ? sql : (sql as { sql: string }).sql;
    const params = Array.isArray(values) ? values : [];
    ran.push({ query: text, params: JSON.stringify(params, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) });
  };
  const trace = <T extends { query: (...args: never[]) => unknown; execute: (...args: never[]) => unknown }>(target: T): T => {
    const query = target.query.bind(target) as (sql: unknown, values?: unknown) => unknown;
    const execute = target.execute.bind(target) as (sql: unknown, values?: unknown) => unknown;
    Object.assign(target, {
      query: (sql: unknown, values?: unknown) => (note(sql, values), query(sql, values)),
      execute: (sql: unknown, values?: unknown) => (note(sql, values), execute(sql, values)),
    });
    return target;
  };
  const config = dbPoolConfig(databaseUrl, 2);
  const pool = trace(createPool(config));
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = async () => trace(await getConnection());
  return { db: createDbOnPool(pool, config), ran };
}

type Probe = { label: string; run: () => Promise<unknown> };

function probes(db: Db, now: Date): Probe[] {
  // Only what getStatistics and listOrders use of Deps.
  const deps = { db, tenants: new Tenants(db) } as unknown as Deps;
  const statuses = (...s: OrderStatus[]) => s;
  const filters: [string, { statuses?: OrderStatus[]; payWays?: string[]; userId?: string }][] = [
    ['no filter', {}],
    ['WAIT_PAY, PAYING', { statuses: statuses('WAIT_PAY', 'PAYING') }],
    ['SUCCESS', { statuses: statuses('SUCCESS') }],
    ['REFUNDED, PARTIAL_REFUNDED', { statuses: statuses('REFUNDED', 'PARTIAL_REFUNDED') }],
    ['pay way WECHAT_NATIVE', { payWays: [LOAD_PAY_WAYS[2]] }],
    ['pay way ALIPAY_QR + SUCCESS', { payWays: [LOAD_PAY_WAYS[0]], statuses: statuses('SUCCESS') }],
    ['user u-7', { userId: 'u-7' }],
  ];
  const list = (f: (typeof filters)[number][1], pageToken = '') =>
    listOrders(deps, {
      filter: { tenantId: BIG, statuses: f.statuses ?? [], payWays: f.payWays ?? [], userId: f.userId },
      pageSize: PAGE,
      pageToken,
    });
  /** Page 50's token is found once (49 pages walked, not timed); each timed run reads page 50 with it. */
  const page50 = (f: (typeof filters)[number][1]) => {
    let token: string | undefined;
    return async () => {
      if (token === undefined) {
        token = '';
        for (let p = 1; p < 50; p++) {
          const next: string = (await list(f, token)).nextPageToken;
          if (!next) break; // fewer than 50 pages: the last one stands in
          token = next;
        }
      }
      return list(f, token);
    };
  };
  const stats = (days: number, timeZone: string) => () =>
    getStatistics(deps, {
      tenantId: BIG,
      from: new Date(now.getTime() - days * DAY_MS),
      to: now,
      currency: 'CNY',
      timeZone: canonicalTimeZone(timeZone),
    });
  const old = new Date(now.getTime() - 60_000);
  return [
    { label: 'Query by key (findOrderView)', run: () => findOrderView(db, { tenantId: BIG, payNo: 'G0000001234' }) },
    ...filters.flatMap(([name, f]): Probe[] => [
      { label: `ListOrders ${name}, page 1`, run: () => list(f) },
      { label: `ListOrders ${name}, page 50`, run: page50(f) },
    ]),
    { label: 'GetStatistics 30 days, Asia/Shanghai', run: stats(30, 'Asia/Shanghai') },
    { label: 'GetStatistics 90 days, Asia/Shanghai', run: stats(90, 'Asia/Shanghai') },
    { label: 'GetStatistics 90 days, Asia/Kathmandu', run: stats(90, 'Asia/Kathmandu') },
    { label: 'GetStatistics 90 days, America/New_York (DST)', run: stats(90, 'America/New_York') },
    { label: 'timeouts: findDueOrders (overdue backlog, one batch)', run: () => findDueOrders(db, { upTo: old }, 200) },
    { label: 'sweep: countOverdueOrders', run: () => countOverdueOrders(db, old, 200) },
    { label: 'sweep: findStaleAttempts', run: () => findStaleAttempts(db, old, 200) },
    { label: 'sweep: findStalePendingRefunds', run: () => findStalePendingRefunds(db, old, 200) },
    { label: 'sweep: findUnrefundedPaidAfterClose', run: () => findUnrefundedPaidAfterClose(db, old, 100) },
    { label: 'outbox: claimPendingEvents', run: () => runTx(db, (tx) => claimPendingEvents(tx, 100), { readCommitted: true }) },
    { label: 'outbox: hasPendingEvents', run: () => hasPendingEvents(db) },
    { label: 'outbox: findStaleQueuedEvents', run: () => findStaleQueuedEvents(db, old, 100) },
    { label: 'outbox: outboxBacklog', run: () => outboxBacklog(db) },
  ];
}

async function medianMs(run: () => Promise<unknown>, runs: number): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/** Prisma's logged parameters, back into values EXPLAIN can take (LIMIT wants a number, DATETIME no 'T…Z'). */
function explainParams(params: string): unknown[] {
  return (JSON.parse(params) as unknown[]).map((p) => {
    if (typeof p !== 'string') return p;
    if (/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(p)) return p.replace('T', ' ').replace('Z', '');
    return /^\d{1,15}$/.test(p) ? Number(p) : p;
  });
}

interface PlanRow {
  id: number;
  select_type: string;
  table: string | null;
  type: string | null;
  key: string | null;
  rows: bigint | number | null;
  Extra: string | null;
}

/** A whole table or index read; a UNION's or derived table's own temporary result (<union2,3>) is not one. */
const isScan = (r: PlanRow) => (r.type === 'ALL' || r.type === 'index') && !r.table?.startsWith('<');

async function explain(conn: Connection, s: Statement): Promise<{ sql: string; plan: PlanRow[] }> {
  const plan = await conn.query<PlanRow[]>(`EXPLAIN ${s.query}`, explainParams(s.params));
  return { sql: s.query.replace(/\s+/g, ' ').trim(), plan };
}

function planTable(plan: PlanRow[]): string {
  const lines = plan.map(
    (r) =>
      `| ${r.id} | ${r.select_type} | ${r.table ?? ''} | ${r.type ?? ''}${isScan(r) ? ' ⚠' : ''} | ${r.key ?? ''} | ${r.rows ?? ''} | ${r.Extra ?? ''} |`,
  );
  return ['| id | select | table | type | key | rows | extra |', '|---|---|---|---|---|---:|---|', ...lines].join('\n');
}

export async function growthBench(databaseUrl: string): Promise<string> {
  const base = num('BENCH_GROWTH_BASE', 2000);
  const total = num('BENCH_GROWTH_ORDERS', 1_000_000);
  const runs = num('BENCH_GROWTH_RUNS', 9);
  const loadAvgAtStart = loadavg();
  const now = new Date();
  const conn = await createConnection({ ...mysqlConnection(databaseUrl), multipleStatements: false });
  const { db, ran } = tracedDb(databaseUrl);
  try {
    for (const id of [BIG, ...OTHERS]) await registerTenant(db, { id, name: id });
    process.stderr.write(`[bench] growth: ${base} orders of ${BIG}, then the queries…\n`);
    await loadOrders(conn, BIG, 'G', 0, base, now);
    await foldAllStatsDeltas(db);
    const list = probes(db, now);
    const before: number[] = [];
    for (const p of list) before.push(await medianMs(p.run, runs));

    process.stderr.write(`[bench] growth: loading to ${total} orders of ${BIG}, ${total / 20} of others…\n`);
    const t0 = performance.now();
    await loadOrders(conn, BIG, 'G', base, total, now);
    for (const [i, id] of OTHERS.entries()) await loadOrders(conn, id, `T${i}`, 0, Math.ceil(total / 20 / OTHERS.length), now);
    const loadSeconds = (performance.now() - t0) / 1000;
    // What the service's fold does in the background while such a load is written: every trigger's delta summed
    // into the rollup rows, a batch per transaction.
    process.stderr.write('[bench] growth: folding the statistics deltas…\n');
    const f0 = performance.now();
    const folded = await foldAllStatsDeltas(db);
    const foldSeconds = (performance.now() - f0) / 1000;
    await conn.query('ANALYZE TABLE pay_order, pay_attempt, refund, outbox_event, order_stats_cell, order_stats_quarter');
    const [counts] = await conn.query<Record<string, bigint>[]>(
      `SELECT (SELECT COUNT(*) FROM pay_order) AS orders, (SELECT COUNT(*) FROM pay_order WHERE tenant_id = ?) AS big,
              (SELECT COUNT(*) FROM pay_attempt) AS attempts, (SELECT COUNT(*) FROM refund) AS refunds,
              (SELECT COUNT(*) FROM outbox_event) AS events, (SELECT COUNT(*) FROM order_stats_cell) AS cells,
              (SELECT COUNT(*) FROM order_stats_quarter) AS quarters`,
      [BIG],
    );

    process.stderr.write('[bench] growth: the queries again, and their plans…\n');
    const rows: string[] = [];
    const plans: string[] = [];
    const loaded = probes(db, now);
    for (const [i, p] of loaded.entries()) {
      const after = await medianMs(p.run, runs);
      ran.length = 0;
      await p.run();
      const statements = ran.filter((s) => /^\s*(SELECT|UPDATE|\()/i.test(s.query));
      const explained = await Promise.all(statements.map((s) => explain(conn, s)));
      const scans = explained.some((e) => e.plan.some(isScan));
      const ratio = after / before[i];
      rows.push(
        `| ${p.label} | ${before[i].toFixed(1)} | ${after.toFixed(1)} | ${ratio.toFixed(2)} ×${ratio > 2 ? ' ⚠' : ''} | ${scans ? 'scan ⚠' : 'index'} |`,
      );
      plans.push(`### ${p.label}\n\n${explained.map((e) => `\`${e.sql.slice(0, 600)}\`\n\n${planTable(e.plan)}`).join('\n\n')}`);
    }

    process.stderr.write('[bench] growth: what the statistics triggers cost a write…\n');
    const writes = await triggerCost(conn, BIG, now, runs * 40);

    const report = [
      `# Growth: ${BIG} from ${base.toLocaleString('en-US')} to ${Number(counts.big).toLocaleString('en-US')} orders`,
      '',
      `Tables after the load: ${Object.entries(counts)
        .map(([k, v]) => `${k} ${Number(v).toLocaleString('en-US')}`)
        .join(
          ', ',
        )}. Loaded in ${loadSeconds.toFixed(0)} s (triggers on); its ${folded.toLocaleString('en-US')} statistics deltas folded in ` +
        `${foldSeconds.toFixed(0)} s (${Math.round(folded / foldSeconds).toLocaleString('en-US')} a second). ` +
        `Load average at start ${loadAvgAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}; ${new Date().toISOString()}.`,
      '',
      `Median of ${runs} calls (ms, wall, through the use case or repository function; one client, no other load from the bench).`,
      '',
      '| query | small (ms) | loaded (ms) | loaded / small | plan |',
      '|---|---:|---:|---:|---|',
      ...rows,
      '',
      renderTriggerCost(writes),
      '',
      '## Plans on the loaded tables',
      '',
      ...plans,
    ].join('\n');
    return report;
  } finally {
    await closeDb(db);
    await conn.end();
  }
}

function renderTriggerCost(w: TriggerCost[]): string {
  return [
    '## What the statistics triggers cost a write',
    '',
    `Each write statement of the service timed alone (in one transaction per kind, one connection, mean µs of ${w[0]?.n ?? 0}), with the ` +
      'triggers, then after DROP TRIGGER on the same loaded tables.',
    '',
    '| statement | with triggers (µs) | without (µs) | triggers add (µs) |',
    '|---|---:|---:|---:|',
    ...w.map((r) => `| ${r.label} | ${r.withUs.toFixed(0)} | ${r.withoutUs.toFixed(0)} | ${(r.withUs - r.withoutUs).toFixed(0)} |`),
  ].join('\n');
}

/** Run on its own: `tsx bench/growth.ts` (BENCH_DATABASE is recreated). */
export async function writeGrowthReport(databaseUrl: string): Promise<void> {
  const report = await growthBench(databaseUrl);
  const out = path.join(ROOT, 'bench/results/growth.md');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${report}\n`);
  console.log(report);
  console.log(`\n(written to ${path.relative(process.cwd(), out)})`);
}
