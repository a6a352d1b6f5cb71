/**
 * Where Prepay's time goes, step by step: `npx tsx bench/prepay-steps.ts` (BENCH_STEP_CALLS, default 1500;
 * BENCH_STEP_CONCURRENCY, default 8). Runs the use case's own repository calls in-process against the scratch
 * database (recreated) and the mock gateway in its own process, and prints per call: the Node CPU this
 * process spent, wall time, the statements and prepares MariaDB saw, and the gateway process's CPU.
 * Not part of `npm run bench`; a diagnostic for when the Prepay row looks slow.
 */
import { createConnection, type Connection } from 'mariadb';
import { channelCall, saveChannelAccount } from '../src/app/channel-accounts';
import { buildDeps, closeDeps } from '../src/bootstrap';
import type { Deps } from '../src/app/deps';
import { createOrder } from '../src/app/create-order';
import { assertPayWayEnabled } from '../src/app/list-pay-ways';
import { prepay } from '../src/app/prepay';
import { requireTenant } from '../src/app/tenants';
import { queryOrder } from '../src/app/query-order';
import { tradeSnapshot } from '../src/app/snapshots';
import { claimOrder } from '../src/app/transition';
import { loadConfig, secretBox } from '../src/config';
import { newAttemptNo } from '../src/domain/ids';
import { casAttemptStatus, findOrder, listAttempts, type CreatedOrder, type PayAttempt } from '../src/repo/pay-orders';
import { runTx } from '../src/repo/tx';
import { processCpuUs, startDaemon } from './children';
import { BENCH_MOCK_SECRET, loadBenchConfig } from './config';
import { benchOrderCommand, TENANT } from './grpc-frames';
import { prepareServices } from './services';
import { mysqlConnection } from '../src/infra/mysql-url';
import { benchQueuePrefixes, removeBenchQueues } from './queues';

const CALLS = Number(process.env.BENCH_STEP_CALLS ?? 1500);
/** A first pass of this many calls per step warms the JIT up; its figures are dropped. */
const WARMUP_CALLS = 300;
const CONCURRENCY = Number(process.env.BENCH_STEP_CONCURRENCY ?? 8);

interface StepRow {
  step: string;
  cpuUs: number;
  wallMs: number;
  statements: number;
  prepares: number;
  gatewayCpuUs: number;
}

async function dbCounters(admin: Connection): Promise<{ statements: number; prepares: number }> {
  const rows: Array<{ Variable_name: string; Value: string }> = await admin.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_stmt_prepare')",
  );
  const get = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? NaN);
  return { statements: get('Questions'), prepares: get('Com_stmt_prepare') };
}

/** Runs fn(i) for i in [0, calls) with CONCURRENCY in flight and reports the cost per call. */
async function step(
  name: string,
  calls: number,
  admin: Connection,
  gatewayPid: number,
  fn: (i: number) => Promise<unknown>,
): Promise<StepRow> {
  let next = 0;
  const db0 = await dbCounters(admin);
  const gw0 = processCpuUs(gatewayPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) await fn(next++);
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const gw = processCpuUs(gatewayPid) - gw0;
  const db1 = await dbCounters(admin);
  return {
    step: name,
    cpuUs: (cpu.user + cpu.system) / calls,
    wallMs: (wall * CONCURRENCY) / calls,
    statements: (db1.statements - db0.statements - 1) / calls, // less our own SHOW STATUS
    prepares: (db1.prepares - db0.prepares) / calls,
    gatewayCpuUs: gw / calls,
  };
}

async function steps(deps: Deps, admin: Connection, gatewayPid: number, calls: number): Promise<StepRow[]> {
  const handler = deps.channels.require('MOCK');
  const ctx = { signal: new AbortController().signal };
  const tag = Date.now().toString(36);
  const orders: CreatedOrder[] = [];
  const paying: CreatedOrder[] = [];
  const attempts: PayAttempt[] = [];
  const rows: StepRow[] = [];
  const run = async (name: string, fn: (i: number) => Promise<unknown>) => {
    process.stderr.write(`[steps] ${name} ×${calls}…\n`);
    rows.push(await step(name, calls, admin, gatewayPid, fn));
  };

  await run('createOrder use case ($executeRaw INSERT)', async (i) => {
    orders[i] = (await createOrder(deps, benchOrderCommand(`${tag}s${i}`))).order;
  });
  await run('Prepay 1: assertPayWayEnabled (pay-way configs cached per tenant)', async () =>
    assertPayWayEnabled(deps, await requireTenant(deps, TENANT), 'MOCK'),
  );
  await run('Prepay 2: payOrder.findFirst (findOrder)', (i) => findOrder(deps.db, { tenantId: TENANT, outOrderNo: `${tag}s${i}` }));
  await run('Prepay 3: payAttempt.findMany (listAttempts)', (i) => listAttempts(deps.db, orders[i].payNo, ['CREATED', 'OPEN']));
  await run('Prepay 4: claimOrder (CALL claim_attempt: CAS, audit row, attempt, in one statement)', async (i) => {
    const order = orders[i];
    const claimed = await claimOrder(
      deps.db,
      order,
      {
        attemptNo: newAttemptNo(),
        payNo: order.payNo,
        tenantId: TENANT,
        payWay: 'MOCK',
        channel: 'mock',
        payerId: '',
        clientIp: '127.0.0.1',
      },
      { cause: 'RPC', detail: 'prepay MOCK', set: { payWay: 'MOCK', payWaySwitches: 0 } },
    );
    if (!claimed) throw new Error(`the claim of ${order.payNo} was lost`);
    paying[i] = claimed.order;
    attempts[i] = claimed.attempt;
  });
  await run('  (same transaction, empty: BEGIN; COMMIT)', () => runTx(deps.db, async () => {}));
  await run('Prepay 5: handler.prepay (signed HTTP POST to the gateway, undici)', (i) =>
    channelCall(deps.accounts, TENANT, handler, ctx).then((call) => handler.prepay(tradeSnapshot(paying[i], attempts[i]), call)),
  );
  await run('Prepay 6: payAttempt.updateMany (casAttemptStatus CREATED -> OPEN)', (i) =>
    casAttemptStatus(deps.db, attempts[i].attemptNo, ['CREATED'], 'OPEN', {
      payload: { kind: 'mockPayUrl', value: 'x' },
      channelTradeNo: 'T',
    }),
  );
  await run('createOrder use case, second set (for the next row)', async (i) => {
    orders[i] = (await createOrder(deps, benchOrderCommand(`${tag}u${i}`))).order;
  });
  await run('prepay use case, end to end (1-6)', (i) =>
    prepay(deps, { ref: { tenantId: TENANT, payNo: orders[i].payNo }, payWay: 'MOCK', clientIp: '127.0.0.1', payerId: '' }, ctx),
  );
  await run('queryOrder use case (sync=false)', (i) => queryOrder(deps, { tenantId: TENANT, payNo: orders[i].payNo }, false, ctx));
  return rows;
}

function render(rows: StepRow[]): string {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return [
    `Prepay step by step: ${CALLS} calls per step, ${CONCURRENCY} in flight, in-process (no gRPC), gateway in its own process.`,
    '',
    '| Step | Node CPU µs/call | wall ms/call | statements/call | prepares/call | gateway CPU µs/call |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows
      .map((r) => [r.step, f(r.cpuUs), f(r.wallMs, 2), f(r.statements, 1), f(r.prepares, 1), f(r.gatewayCpuUs)].join(' | '))
      .map((cells) => `| ${cells} |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const services = await prepareServices(cfg.database);
  const gateway = await startDaemon<{ gatewayUrl: string }>('gateway-main.ts', {});
  const queues = benchQueuePrefixes();
  const config = loadConfig({
    ...queues,
    LOG_LEVEL: 'silent',
    DATABASE_URL: services.databaseUrl,
    DATABASE_POOL_SIZE: String(cfg.dbPoolSize),
    REDIS_URL: services.redisUrl,
    MOCK_CHANNEL_ENABLED: 'true',
    MOCK_CHANNEL_SECRET: BENCH_MOCK_SECRET,
    MOCK_GATEWAY_URL: gateway.info.gatewayUrl,
  });
  const deps = buildDeps(config);
  const mock = {
    channel: 'mock',
    merchantId: 'M-bench',
    secret: BENCH_MOCK_SECRET,
    gatewayUrl: gateway.info.gatewayUrl,
    notifyBaseUrl: config.NOTIFY_BASE_URL,
  };
  await saveChannelAccount(deps.db, secretBox(config), TENANT, mock); // the mock needs an account like any channel
  const admin = await createConnection({ ...mysqlConnection(services.databaseUrl), database: undefined });
  try {
    await deps.db.$connect();
    await steps(deps, admin, gateway.pid, WARMUP_CALLS);
    console.log(render(await steps(deps, admin, gateway.pid, CALLS)));
  } finally {
    await admin.end();
    await deps.orderFeed.close();
    await closeDeps(deps);
    await gateway.stop();
    await removeBenchQueues(services.redisUrl, queues);
    await services.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
