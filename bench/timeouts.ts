/**
 * Order timeouts (issue 13): what N pending orders cost in Redis, how late their timeouts fire, and how fast a
 * backlog of overdue orders clears. Run: `npm run bench:timeouts` (services up or started by it).
 *
 * Redis is a private redis-server of this run (a free port, no persistence), so its memory and CPU figures are
 * this run's alone, not the shared Redis's other clients'. The scratch database is BENCH_DATABASE (default
 * paysvc_bench), dropped and recreated.
 *
 * 1. Pending: BENCH_TIMEOUT_ORDERS (100,000) WAIT_PAY rows, their expiries spread evenly over the next 30 minutes
 *    (a steady CreateOrder rate with the default expiry), starting 2 hours out (past the bench's end), each scheduled through scheduleTimeout, CreateOrder's
 *    own call. Reports Redis used_memory and the sum of MEMORY USAGE over every key of the run's prefix, per
 *    pending order, and Redis and service CPU per schedule. Then the same for PAYING orders: the status-sync round
 *    each Prepay schedules, in per-second due sets and (for comparison) as the per-attempt jobs they replaced.
 * 2. Lateness: BENCH_TIMEOUT_LATE_ORDERS (2,000) orders expiring within the next BENCH_TIMEOUT_LATE_WINDOW_S
 *    (10) seconds, scheduled the same way; expiry → CLOSED from their order_transition rows, p50/p99/max.
 * 3. Backlog: the pending orders' Redis keys are deleted (a Redis loss), the expiries of BENCH_TIMEOUT_BACKLOG
 *    of them (default all) moved into the past,
 *    and one sweep hands them to the backlog job; time until every one is CLOSED, and service CPU per order.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { startService } from '../src/bootstrap';
import { scheduleTimeout } from '../src/app/schedule-sync';
import { OrderTimeouts } from '../src/jobs/order-timeout';
import { DUE_SET_MIN_DELAY_MS, StatusSync } from '../src/jobs/status-sync';
import { registerTenant } from '../src/app/tenants';
import { newPayNo } from '../src/domain/ids';
import { loadConfig } from '../src/config';
import { migrate } from '../src/infra/migrate';
import type { Db } from '../src/infra/db';
import { recreateDatabase, startLocalServices } from '../scripts/local-services';
import { benchQueuePrefixes, removeBenchQueues } from './queues';
import { percentile, sleep } from './stats';

const TENANT = 'bench-timeouts';
const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

async function main(): Promise<void> {
  const pending = num('BENCH_TIMEOUT_ORDERS', 100_000);
  const lateOrders = num('BENCH_TIMEOUT_LATE_ORDERS', 2000);
  const lateWindowS = num('BENCH_TIMEOUT_LATE_WINDOW_S', 10);
  const backlog = Math.min(pending, num('BENCH_TIMEOUT_BACKLOG', pending));
  const { databaseUrl } = startLocalServices();
  const url = await recreateDatabase(databaseUrl, process.env.BENCH_DATABASE ?? 'paysvc_bench');
  await migrate(url, () => undefined);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const redisUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 100) throw new Error(`redis-server did not start on port ${port}`);
    await sleep(50);
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queues = benchQueuePrefixes();
  const service = await startService(
    loadConfig({
      DATABASE_URL: url,
      REDIS_URL: redisUrl,
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error',
      MOCK_CHANNEL_ENABLED: 'true',
      SWEEP_INTERVAL_MS: String(3_600_000), // the bench runs its one sweep itself
      SWEEP_GRACE_MS: '1000',
      ...queues,
    }),
  );
  const deps = service.deps;
  const lines: string[] = [];
  const say = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  try {
    await registerTenant(deps.db, { id: TENANT, name: 'Bench timeouts' });
    say(
      `order timeouts, ${new Date().toISOString()}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    // 1. Pending orders: Redis bytes and CPU per schedule.
    const start = Date.now();
    const spanMs = 30 * 60_000;
    const expiries = Array.from({ length: pending }, (_, i) => new Date(start + 2 * 3_600_000 + Math.floor((i * spanMs) / pending)));
    const pendingNos = await insertOrders(deps.db, 'pend', expiries);
    const mem0 = await usedMemory(redis);
    const rcpu0 = await redisCpuMs(redis);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await inParallel(pending, 32, async (i) => scheduleTimeout(deps, { tenantId: TENANT, payNo: pendingNos[i], expireAt: expiries[i] }));
    const scheduleS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const redisCpu = (await redisCpuMs(redis)) - rcpu0;
    const memDelta = (await usedMemory(redis)) - mem0;
    const keyBytes = await prefixBytes(redis, queues.QUEUE_PREFIX);
    const jobs = await redis.zcard(`${queues.QUEUE_PREFIX}:order-timeout:delayed`);
    say(
      `pending: ${pending.toLocaleString('en-US')} orders over 30 min -> ${jobs.toLocaleString('en-US')} delayed jobs; ` +
        `used_memory +${mb(memDelta)} (${(memDelta / pending).toFixed(1)} B/order), keys under the prefix ${mb(keyBytes.bytes)} ` +
        `in ${keyBytes.keys} keys (${(keyBytes.bytes / pending).toFixed(1)} B/order, ${(keyBytes.bytes / Math.max(1, jobs)).toFixed(0)} B/job); ` +
        `1 M orders over 30 min: ~${mb((keyBytes.bytes / Math.max(1, jobs)) * (1_800_000 / OrderTimeouts.slotMs + 1))} (a job per ${OrderTimeouts.slotMs} ms slot)`,
    );
    say(
      `schedule: ${(scheduleS * 1000).toFixed(0)} ms for ${pending.toLocaleString('en-US')} (${Math.round(pending / scheduleS)}/s); ` +
        `Redis CPU ${((redisCpu * 1000) / pending).toFixed(2)} µs/schedule (${((redisCpu * 1000) / Math.max(1, jobs)).toFixed(0)} µs/add); ` +
        `service CPU ${((cpu.user + cpu.system) / pending).toFixed(1)} µs/schedule`,
    );

    // 1b. PAYING orders: the status-sync round each Prepay schedules, as per-second due sets and as the per-attempt
    // jobs they replaced (a delay under DUE_SET_MIN_DELAY_MS still takes that path), each under a prefix of its own.
    for (const shape of ['due sets', 'a job per attempt'] as const) {
      const prefix = `{${queues.QUEUE_PREFIX.slice(1, -1)}-sync-${shape === 'due sets' ? 'sets' : 'jobs'}}`;
      const n = shape === 'due sets' ? pending : Math.min(pending, 20_000);
      let clock = start;
      const sync = new StatusSync(deps.queueRedis, shape === 'due sets' ? [60_000] : [DUE_SET_MIN_DELAY_MS - 1], prefix, () => clock);
      const smem0 = await usedMemory(redis);
      const srcpu0 = await redisCpuMs(redis);
      const scpu0 = process.cpuUsage();
      // Prepays at a steady rate over 30 minutes (the clock the schedule reads), 32 at a time.
      await inParallel(n, 32, (i) => {
        clock = start + Math.floor((i * spanMs) / n);
        return sync.schedule(`A${String(i).padStart(31, '0')}`);
      });
      const scpu = process.cpuUsage(scpu0);
      const sRedisCpu = (await redisCpuMs(redis)) - srcpu0;
      const sMem = (await usedMemory(redis)) - smem0;
      const sKeys = await prefixBytes(redis, prefix);
      say(
        `PAYING, status sync as ${shape}: ${n.toLocaleString('en-US')} attempts over 30 min -> keys ${mb(sKeys.bytes)} in ${sKeys.keys} keys ` +
          `(${(sKeys.bytes / n).toFixed(1)} B/attempt; used_memory +${(sMem / n).toFixed(1)} B/attempt); 1 M: ~${mb((sKeys.bytes / n) * 1e6)}; ` +
          `Redis CPU ${((sRedisCpu * 1000) / n).toFixed(1)} µs/schedule, service CPU ${((scpu.user + scpu.system) / n).toFixed(1)} µs/schedule`,
      );
      await removeBenchQueues(redisUrl, { QUEUE_PREFIX: prefix, EVENT_QUEUE_PREFIX: '{none}' });
      await sync.close();
    }

    // 2. Lateness: orders expiring within the next few seconds, closed by their slots' jobs.
    const lateStart = Date.now() + 15_000; // room to insert and schedule them on a busy machine
    const lateExpiries = Array.from(
      { length: lateOrders },
      (_, i) => new Date(lateStart + Math.floor((i * lateWindowS * 1000) / lateOrders)),
    );
    const lateNos = await insertOrders(deps.db, 'late', lateExpiries);
    await inParallel(lateOrders, 32, async (i) =>
      scheduleTimeout(deps, { tenantId: TENANT, payNo: lateNos[i], expireAt: lateExpiries[i] }),
    );
    if (Date.now() > lateStart) say(`⚠ scheduling the lateness orders ran past their first expiry`);
    await untilNoneOpen(deps.db, new Date(lateStart + lateWindowS * 1000 + 1000));
    const lateness = await deps.db.$queryRaw<{ ms: number }[]>`
      SELECT TIMESTAMPDIFF(MICROSECOND, o.expire_at, t.created_at) / 1000 AS ms FROM order_transition t
      JOIN pay_order o ON o.pay_no = t.pay_no WHERE t.to_status = 'CLOSED' AND o.out_order_no LIKE 'late-%'`;
    const sorted = Float64Array.from(lateness.map((r) => Number(r.ms))).sort();
    say(
      `lateness (expire_at -> CLOSED, ${sorted.length} orders due within ${lateWindowS} s): ` +
        `p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p99 ${percentile(sorted, 0.99).toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms, ` +
        `min ${sorted[0].toFixed(0)} ms`,
    );

    // 3. Backlog: a Redis loss, then every pending order overdue at once.
    await removeBenchQueues(redisUrl, { QUEUE_PREFIX: queues.QUEUE_PREFIX, EVENT_QUEUE_PREFIX: '{none}' });
    await deps.db.$executeRaw`UPDATE pay_order SET expire_at = NOW(3) - INTERVAL 1 HOUR + INTERVAL (id % 3000) SECOND
      WHERE tenant_id = ${TENANT} AND out_order_no LIKE 'pend-%' ORDER BY id LIMIT ${backlog}`;
    const bcpu0 = process.cpuUsage();
    const b0 = performance.now();
    const report = await deps.jobs.sweeper.run(deps);
    await untilNoneOpen(deps.db, new Date(Date.now() + 3_600_000));
    const backlogS = (performance.now() - b0) / 1000;
    const bcpu = process.cpuUsage(bcpu0);
    say(
      `backlog: ${backlog.toLocaleString('en-US')} overdue orders (sweep saw ${report.overdueOrders}+) closed in ${backlogS.toFixed(1)} s ` +
        `(${Math.round(backlog / backlogS)} orders/s; the old sweep: 200/min); service CPU ${((bcpu.user + bcpu.system) / backlog / 1000).toFixed(2)} ms/order`,
    );
    say(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await service.stop();
    await removeBenchQueues(redisUrl, queues);
    redis.disconnect();
    redisServer.kill('SIGTERM');
  }
}

/** WAIT_PAY rows as CreateOrder writes them, 1,000 per statement; returns their pay nos. */
async function insertOrders(db: Db, tag: string, expiries: Date[]): Promise<string[]> {
  const now = new Date();
  const rows = expiries.map((expireAt, i) => ({
    payNo: newPayNo(now),
    tenantId: TENANT,
    outOrderNo: `${tag}-${i}`,
    amount: 100n,
    currency: 'CNY',
    subject: 'bench',
    description: '',
    userId: 'u',
    payWay: 'PAY_WAY_UNSPECIFIED',
    status: 'WAIT_PAY' as const,
    notifyTopic: 'order.pay.notify',
    attach: '',
    extra: {},
    clientIp: '',
    returnUrl: '',
    expireSeconds: 1800,
    expireAt,
    createdAt: now,
  }));
  for (let i = 0; i < rows.length; i += 1000) await db.payOrder.createMany({ data: rows.slice(i, i + 1000) });
  return rows.map((r) => r.payNo);
}

async function inParallel(n: number, lanes: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Until no order expiring before `before` is open (an index range count). */
async function untilNoneOpen(db: Db, before: Date): Promise<void> {
  for (;;) {
    const [{ n }] = await db.$queryRaw<{ n: bigint }[]>`
      SELECT COUNT(*) AS n FROM pay_order WHERE status IN ('WAIT_PAY', 'PAYING') AND expire_at < ${before}`;
    if (n === 0n) return;
    await sleep(250);
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const f = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)![1]);
  return (f('used_cpu_user') + f('used_cpu_sys')) * 1000;
}

async function prefixBytes(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    for (const k of batch) {
      keys += 1;
      bytes += Number(await redis.memory('USAGE', k, 'SAMPLES', 0));
    }
    cursor = next;
  } while (cursor !== '0');
  return { keys, bytes };
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket.end() && true)).on('error', () => resolve(false));
  });

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(2)} MB`;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
