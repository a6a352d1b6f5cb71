/**
 * Statement reconciliation (issue 15): `BENCH_DATABASE=<db>_bench npm run bench:reconcile`, with the services up.
 * For a tenth of BENCH_RECONCILE_LINES (default 1,000,000) and then all of them: recreates the scratch database
 * BENCH_DATABASE, seeds the day's books with bulk SQL (INSERT … SELECT from MariaDB's seq_0_to_N sequence tables,
 * never a round trip per row), writes the matching WeChat Pay trade bill (gzip) with the sandbox's writer, and runs
 * reconcileDay over it in a fresh process that samples process.memoryUsage() every 50 ms. Four lines in five are
 * payments that match, one in five a refund that matches; every 100,000th payment is still OPEN here (applied by
 * the run) and 10 payments of the day are missing from the file (MISSING_AT_CHANNEL). If memory is bounded, the
 * peaks of the two sizes are about the same. Times: the run's wall clock, its own CPU, and the database server's
 * CPU over the run (the server is shared with whoever else uses it: an upper bound).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { reconcileDay } from '../src/app/reconcile';
import { startService } from '../src/bootstrap';
import { parseWechatBill } from '../src/channels/wechat/statement';
import type { ChannelAccount } from '../src/channels/types';
import { loadConfig } from '../src/config';
import { closeDb, createDb, sqlPool } from '../src/infra/db';
import { migrate } from '../src/infra/migrate';
import type { StatementSource } from '../src/reconcile';
import type { StatementRow } from '../sandboxes/kit/statement-rows';
import { writeWechatBill } from '../sandboxes/wechat/statement-file';
import { recreateDatabase, startLocalServices } from '../scripts/local-services';
import { processCpuUs } from './children';
import { benchQueuePrefixes, removeBenchQueues } from './queues';

const DAY = '2026-11-29';
const DAY_START = '2026-11-28 16:00:00'; // Beijing midnight, UTC
const TENANT = 'bench';
const OPEN_EVERY = 100_000;
const MISSING = 10;
const LIVE_EVERY_MS = 2000;
const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Line i of the statement: a payment of trade T<i>, or (every fifth) the full refund R<i> of trade T<i> paid the day before. */
function* rows(count: number): Generator<StatementRow> {
  const start = Date.parse('2026-11-28T16:00:00Z');
  for (let i = 0; i < count; i++) {
    const amount = BigInt(1 + ((i * 7919) % 5_000_000));
    const refund = i % 5 === 4;
    const fee = amount * 6n; // 0.6 % in milli-fen, as WeChat prints it (to 0.00001 yuan)
    yield {
      kind: refund ? 'refund' : 'payment',
      outTradeNo: `T${pad(i)}`,
      channelTradeNo: `42000000002026112900${String(i).padStart(10, '0')}`,
      outRefundNo: refund ? `R${pad(i)}` : undefined,
      channelRefundNo: refund ? `5030000000202611290000${String(i).padStart(8, '0')}` : undefined,
      amount,
      feeMilliFen: refund ? -fee : fee,
      occurredAt: new Date(start + Number((BigInt(i) * 86_399n) / BigInt(count)) * 1000),
      productName: '测试商品',
    };
  }
}

const pad = (i: number) => String(i).padStart(12, '0');

/** The books that match the statement, written by the database itself: a few statements of INSERT … SELECT. */
async function seed(url: string, count: number): Promise<void> {
  const db = createDb(url, 2);
  const pool = sqlPool(db);
  const A = '(1 + MOD(seq * 7919, 5000000))';
  const FEE = `LEAST(${A}, FLOOR((${A} * 60 + 5000) / 10000))`;
  const AT = `DATE_ADD('${DAY_START}', INTERVAL FLOOR(seq * 86399 / ${count}) SECOND)`;
  const REFUND = 'MOD(seq, 5) = 4';
  const OPEN = `(MOD(seq, ${OPEN_EVERY}) = 1)`;
  const CREATED = `DATE_SUB('${DAY_START}', INTERVAL 2 HOUR)`;
  try {
    await pool.query(`INSERT INTO tenant (id, name, created_at, updated_at) VALUES ('${TENANT}', 'bench', NOW(3), NOW(3))`);
    const chunk = 250_000;
    for (let from = 0; from < count; from += chunk) {
      const seqTable = `seq_${from}_to_${Math.min(count, from + chunk) - 1}`;
      await pool.query(`INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
          status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, refunded_amount, fee, net_amount,
          refunded_fee, channel_trade_no, paid_at, current_attempt_no, created_at, updated_at)
        SELECT CONCAT('P', LPAD(seq, 12, '0')), '${TENANT}', CONCAT('O', LPAD(seq, 12, '0')), ${A}, 'CNY', 'bench', '', 'u', 'WECHAT_NATIVE',
          IF(${REFUND}, 'REFUNDED', IF(${OPEN}, 'PAYING', 'SUCCESS')), 'bench.orders', '', '{}', '', '', 900, ${CREATED},
          IF(${REFUND}, ${A}, 0), IF(${OPEN}, 0, ${FEE}), IF(${OPEN}, 0, ${A} - ${FEE}), IF(${REFUND}, ${FEE}, 0),
          IF(${OPEN}, NULL, CONCAT('42000000002026112900', LPAD(seq, 10, '0'))),
          IF(${OPEN}, NULL, IF(${REFUND}, DATE_SUB('${DAY_START}', INTERVAL 1 HOUR), ${AT})), CONCAT('T', LPAD(seq, 12, '0')), ${CREATED}, ${CREATED}
        FROM ${seqTable}`);
      await pool.query(`INSERT INTO pay_attempt (attempt_no, pay_no, tenant_id, pay_way, channel, status, payer_id, client_ip,
          channel_trade_no, fee, net_amount, paid_amount, paid_at, created_at, updated_at)
        SELECT CONCAT('T', LPAD(seq, 12, '0')), CONCAT('P', LPAD(seq, 12, '0')), '${TENANT}', 'WECHAT_NATIVE', 'wechat',
          IF(${OPEN}, 'OPEN', 'SUCCESS'), '', '', IF(${OPEN}, NULL, CONCAT('42000000002026112900', LPAD(seq, 10, '0'))),
          IF(${OPEN}, 0, ${FEE}), IF(${OPEN}, 0, ${A} - ${FEE}), IF(${OPEN}, NULL, ${A}),
          IF(${OPEN}, NULL, IF(${REFUND}, DATE_SUB('${DAY_START}', INTERVAL 1 HOUR), ${AT})), ${CREATED}, ${CREATED}
        FROM ${seqTable}`);
      await pool.query(`INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status,
          channel_refund_no, requested_by, fee, succeeded_at, created_at, updated_at)
        SELECT CONCAT('R', LPAD(seq, 12, '0')), '${TENANT}', CONCAT('OR', LPAD(seq, 12, '0')), CONCAT('P', LPAD(seq, 12, '0')),
          CONCAT('T', LPAD(seq, 12, '0')), ${A}, 'CNY', 'bench', 'SUCCESS', CONCAT('5030000000202611290000', LPAD(seq, 8, '0')),
          'bench', ${FEE}, ${AT}, ${CREATED}, ${CREATED}
        FROM ${seqTable} WHERE ${REFUND}`);
    }
    // Paid here on the day, absent from the file.
    await pool.query(`INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
        status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, paid_at, current_attempt_no, created_at, updated_at)
      SELECT CONCAT('PM', seq), '${TENANT}', CONCAT('OM', seq), 100, 'CNY', 'bench', '', 'u', 'WECHAT_NATIVE', 'SUCCESS', 'bench.orders',
        '', '{}', '', '', 900, ${CREATED}, DATE_ADD('${DAY_START}', INTERVAL 12 HOUR), CONCAT('M', seq), ${CREATED}, ${CREATED}
      FROM seq_0_to_${MISSING - 1}`);
    await pool.query(`INSERT INTO pay_attempt (attempt_no, pay_no, tenant_id, pay_way, channel, status, payer_id, client_ip,
        paid_amount, paid_at, created_at, updated_at)
      SELECT CONCAT('M', seq), CONCAT('PM', seq), '${TENANT}', 'WECHAT_NATIVE', 'wechat', 'SUCCESS', '', '', 100,
        DATE_ADD('${DAY_START}', INTERVAL 12 HOUR), ${CREATED}, ${CREATED}
      FROM seq_0_to_${MISSING - 1}`);
  } finally {
    await closeDb(db);
  }
}

interface RunReport {
  lines: number;
  wallS: number;
  cpuS: number;
  dbCpuS: number;
  baseline: { rssMB: number; heapMB: number };
  peak: { rssMB: number; heapMB: number };
  /** heapUsed right after a full GC, every LIVE_EVERY_MS during the run: what the run holds on to, garbage aside. */
  liveHeapMB: { max: number; last: number; samples: number };
  run: Record<string, string>;
}

/** The database server's CPU seconds so far (mariadbd, found by its pid file), or NaN when it cannot be read. */
function dbCpuSeconds(): number {
  const dataDir = process.env.PAYSVC_DATA_DIR ?? path.join(__dirname, '..', '.data');
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(path.join(dataDir, 'mariadb', 'mysqld.pid'), 'utf8').trim());
  } catch {
    return Number.NaN;
  }
  return processCpuUs(pid) / 1e6;
}

/** The measured part, in its own process: reconcileDay over the file, memory sampled. */
async function runChild(url: string, redisUrl: string, file: string, hashValue: string, lines: number): Promise<void> {
  const queues = benchQueuePrefixes();
  const service = await startService(
    loadConfig({
      DATABASE_URL: url,
      REDIS_URL: redisUrl,
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      WORKERS_ENABLED: 'false',
      MOCK_CHANNEL_ENABLED: 'false',
      ...queues,
    }),
  );
  const deps = service.deps;
  // The file stands in for the download; the account is never used by it.
  const source: StatementSource<ChannelAccount> = {
    download: () =>
      Promise.resolve({
        outcome: 'ready',
        file: { kind: 'path', path: file },
        parse: () => parseWechatBill(createReadStream(file), { digest: { hashType: 'SHA1', hashValue }, file }),
        dispose: () => Promise.resolve(),
      }),
  };
  deps.channels.statements = () => source;
  deps.accounts.get = () => Promise.resolve({ channel: 'wechat' } as ChannelAccount);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heap: base.heapUsed };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  }, 50);
  const live: number[] = [];
  const liveTimer = setInterval(() => {
    gc?.();
    live.push(process.memoryUsage().heapUsed);
  }, LIVE_EVERY_MS);
  const db0 = dbCpuSeconds();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const run = await reconcileDay(deps, { tenantId: TENANT, channel: 'wechat', day: DAY, actor: 'bench:reconcile' });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const dbCpuS = dbCpuSeconds() - db0;
  clearInterval(timer);
  clearInterval(liveTimer);
  const report: RunReport = {
    lines,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    dbCpuS,
    baseline: { rssMB: mb(base.rss), heapMB: mb(base.heapUsed) },
    peak: { rssMB: mb(peak.rss), heapMB: mb(peak.heap) },
    liveHeapMB: { max: mb(Math.max(0, ...live)), last: mb(live[live.length - 1] ?? 0), samples: live.length },
    run: Object.fromEntries(Object.entries(run).map(([k, v]) => [k, String(v)])),
  };
  await service.stop();
  await removeBenchQueues(redisUrl, queues);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function main(): Promise<void> {
  const full = Number(process.env.BENCH_RECONCILE_LINES ?? 1_000_000);
  const database = process.env.BENCH_DATABASE ?? 'paysvc_bench';
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error(`BENCH_DATABASE must match [a-z0-9_]+, got ${database}`);
  const sizes = process.env.BENCH_RECONCILE_ONLY_FULL ? [full] : [Math.floor(full / 10), full];
  const { databaseUrl, redisUrl } = startLocalServices();
  const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-bench-reconcile-'));
  const out = [
    `Statement reconciliation (WeChat Pay bill), ${new Date().toISOString()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores, shared)`,
    '',
    '| lines | seed s | file write s | run s (wall) | run CPU s | DB CPU s | lines/wall s | baseline RSS / heap MB | peak RSS / heap MB (sampled) | live heap after GC, max / last MB (samples) | run: status, matched, differences, applied |',
    '|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|',
  ];
  try {
    for (const count of sizes) {
      const url = await recreateDatabase(databaseUrl, database);
      await migrate(url, () => undefined);
      const s0 = Date.now();
      await seed(url, count);
      const seedS = (Date.now() - s0) / 1000;
      const file = path.join(dir, `wechat-${count}.csv.gz`);
      const w0 = Date.now();
      const { hashValue } = await writeWechatBill(file, rows(count), { gzip: true });
      const writeS = (Date.now() - w0) / 1000;
      const stdout = execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', __filename, 'run', url, redisUrl, file, hashValue, String(count)],
        { encoding: 'utf8', maxBuffer: 4 * MB, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as RunReport;
      const row = `| ${count.toLocaleString('en')} | ${seedS.toFixed(1)} | ${writeS.toFixed(1)} | ${r.wallS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${r.dbCpuS.toFixed(1)} | ${Math.round(count / r.wallS).toLocaleString('en')} | ${r.baseline.rssMB} / ${r.baseline.heapMB} | ${r.peak.rssMB} / ${r.peak.heapMB} | ${r.liveHeapMB.max} / ${r.liveHeapMB.last} (${r.liveHeapMB.samples}) | ${r.run.status}, ${r.run.matched}, ${r.run.differences}, ${r.run.applied} (file ${mb(statSync(file).size)} MB) |`;
      out.push(row);
      console.log(row);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n${out.join('\n')}`);
}

if (process.argv[2] === 'run') {
  const [, , , url, redisUrl, file, hashValue, lines] = process.argv;
  runChild(url, redisUrl, file, hashValue, Number(lines)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
