/**
 * `npm run chaos` (issue 16): paysvc under load while things break, then the books are checked.
 *
 * Starts its own MariaDB and Redis (free ports, a temporary directory: never the shared ones), the three sandbox
 * channels, three service instances (workers in two), a notify load balancer and the example order-side consumer;
 * drives CHAOS_SECONDS of orders through every pay way while faults.ts kills, restarts and breaks things on a
 * schedule; then waits for the system to settle (within CHAOS_QUIESCE_SECONDS) and checks every invariant
 * (invariants.ts). Exits 0 only if each holds. Every process it starts stops with it, on Ctrl-C and on failure.
 *
 *   CHAOS_SECONDS=60            seconds of load (default 60; the long run: 900)
 *   CHAOS_WORKERS=8             order stories at a time
 *   CHAOS_QUIESCE_SECONDS=150   bound on settling after the load
 *   CHAOS_KEEP=1                keep the temporary directory (logs, data) even when the run passes
 */
import { rmSync } from 'node:fs';
import { PaymentClient } from '../../src/client';
import { mintCaller } from '../../src/grpc/caller-token';
import { migrate } from '../../src/infra/migrate';
import { MOCK_SECRET, registerChaosTenant, startChannels } from './channels';
import { OrderSide } from './consumer';
import { runFaults } from './faults';
import { Instance } from './instances';
import { checkInvariants, connect, retryFailedCancels, retryUnsentPrepays, unsettled } from './invariants';
import { runLoad } from './load';
import { startNotifyProxy } from './notify-proxy';
import { freePort, makeRunDir, reapOrphanedRuns, sleep, stopEverythingOnExit } from './processes';
import { printReport, type Samples } from './report';
import { PrivateMariaDb, PrivateRedis } from './stores';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const WORKERS = Number(process.env.CHAOS_WORKERS ?? 8);
const QUIESCE_MS = Number(process.env.CHAOS_QUIESCE_SECONDS ?? 150) * 1000;
const QUEUE_PREFIX = '{chaos}';
const EVENT_QUEUE_PREFIX = '{chaos-events}';

const t0 = Date.now();
const say = (msg: string): void => console.log(`[chaos ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${msg}`);

async function main(): Promise<number> {
  const reaped = reapOrphanedRuns();
  if (reaped > 0) say(`cleaned up after ${reaped} earlier run(s) killed outright`);
  const dir = makeRunDir();
  const db = new PrivateMariaDb(dir, await freePort());
  const redis = new PrivateRedis(dir, await freePort());
  let instances: Instance[] = [];
  let consumer: OrderSide | undefined;
  let client: PaymentClient | undefined;
  let proxy: Awaited<ReturnType<typeof startNotifyProxy>> | undefined;
  let channels: Awaited<ReturnType<typeof startChannels>> | undefined;
  let passed = false;
  const cleanUp = async () => {
    client?.close();
    await consumer?.stop().catch(() => undefined);
    await Promise.all(instances.map((i) => i.stop()));
    await proxy?.close();
    await channels?.close();
    await Promise.all([redis.stop(), db.stop()]);
    if (passed && !process.env.CHAOS_KEEP) rmSync(dir, { recursive: true, force: true });
    else say(`logs and data kept in ${dir}`);
  };
  stopEverythingOnExit(cleanUp);
  try {
    say(`private MariaDB on ${db.port} and Redis on ${redis.port} under ${dir}`);
    await Promise.all([db.init(), redis.start()]);
    await migrate(db.url);
    channels = await startChannels();
    proxy = await startNotifyProxy(() => instances.filter((i) => i.up).map((i) => i.httpPort));
    await registerChaosTenant(db.url, channels, proxy.url);

    const caller = mintCaller('chaos-run', { tenants: '*', permissions: ['pay', 'operate'] });
    const env = serviceEnv(db.url, redis.url, channels.urls.mock, caller.entry);
    const ports = async () => [await freePort(), await freePort()] as const;
    const specs: [string, boolean][] = [
      ['a', true],
      ['b', true],
      ['c', false],
    ];
    instances = await Promise.all(
      specs.map(async ([name, workers]) => {
        const [grpc, http] = await ports();
        return new Instance(name, grpc, http, { ...env, WORKERS_ENABLED: String(workers) }, dir);
      }),
    );
    await Promise.all(instances.map((i) => i.start()));
    consumer = new OrderSide(redis.url, EVENT_QUEUE_PREFIX);
    consumer.start();
    say(`three instances up (gRPC ${instances.map((i) => i.grpcPort).join(', ')}; workers in a and b), consumer up`);

    client = new PaymentClient(`ipv4:${instances.map((i) => `127.0.0.1:${i.grpcPort}`).join(',')}`, {
      token: caller.token,
      deadlineMs: 20_000,
      channelOptions: { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) },
    });

    const samples: Samples = { rss: Object.fromEntries(instances.map((i) => [i.name, []])), redisMb: [] };
    const sampler = setInterval(() => {
      for (const i of instances) if (i.up) samples.rss[i.name].push(i.rssMb);
      void redis.memoryMb().then(
        (mb) => Number.isFinite(mb) && samples.redisMb.push(mb),
        () => undefined,
      );
    }, 5000);

    const start = Date.now();
    const until = start + SECONDS * 1000;
    say(`load for ${SECONDS} s with ${WORKERS} stories at a time; faults on schedule`);
    const faultEnv = { instances, db, redis, channels, consumer, queuePrefix: QUEUE_PREFIX, log: say };
    const [stats, faults] = await Promise.all([
      runLoad({ client, channels, workers: WORKERS, until, expiringUntil: until - Math.min(30_000, (SECONDS * 1000) / 2) }),
      runFaults(faultEnv, start, until),
    ]);
    const loadEnded = Date.now();
    say(`load done (${stats.orders} orders); every fault cleared; quiescing (bound ${QUIESCE_MS / 1000} s)`);
    for (const sandbox of [channels.mock, channels.alipay, channels.wechat]) sandbox.clearFaults();

    const conn = await connect(db.url);
    let left: Record<string, number> = {};
    let settledAt: number | undefined;
    try {
      while (Date.now() - loadEnded < QUIESCE_MS) {
        left = await unsettled(conn, channels, consumer);
        if (Object.values(left).every((n) => n === 0)) {
          settledAt = Date.now();
          break;
        }
        await sleep(1000);
      }
      if (!settledAt) say(`did not settle: ${JSON.stringify(left)}`);
      clearInterval(sampler);
      const cancels = await retryFailedCancels(client, stats.cancelsToRetry);
      if (cancels.retried > 0)
        say(`${cancels.retried} Cancels that had failed UNAVAILABLE retried (${cancels.failed.length} failed again)`);
      const retries = await retryUnsentPrepays(conn, client);
      if (retries.retried > 0)
        say(`${retries.retried} Prepays that had failed UNAVAILABLE retried (${retries.failed.length} failed again)`);
      const checks = await checkInvariants(conn, channels, consumer, proxy.tally);
      checks.push({
        name: 'a Prepay retry opens the attempt an UNAVAILABLE Prepay left unsent',
        checked: retries.retried,
        broken: retries.failed.length,
        samples: retries.failed.slice(0, 3),
      });
      checks.push({
        name: 'a Cancel retry finishes a Cancel that failed UNAVAILABLE',
        checked: cancels.retried,
        broken: cancels.failed.length,
        samples: cancels.failed.slice(0, 3),
      });
      // Faults may make a call fail, but always with a code a client can act on (UNAVAILABLE, …): never INTERNAL.
      const internal = Object.entries(stats.callErrors).filter(([name]) => name.startsWith('INTERNAL'));
      checks.push({
        name: 'no call answered INTERNAL',
        checked: stats.calls,
        broken: internal.reduce((sum, [, n]) => sum + n, 0),
        samples: internal.map(([name, n]) => `${name} ${n}`),
      });
      const tallies = await conn.query<{ what: string; k: string; n: bigint }[]>(`
        SELECT 'order' AS what, status AS k, COUNT(*) AS n FROM pay_order GROUP BY status
        UNION ALL SELECT 'refund', status, COUNT(*) FROM refund GROUP BY status
        UNION ALL SELECT 'event', type, COUNT(*) FROM outbox_event GROUP BY type
        UNION ALL SELECT 'notify', result, COUNT(*) FROM notify_record GROUP BY result`);
      passed = !!settledAt && checks.every((c) => c.broken === 0) && faults.every((f) => !f.outcome.startsWith('FAILED'));
      printReport({
        seconds: SECONDS,
        stats,
        faults,
        tallies,
        checks,
        quiesceMs: settledAt ? settledAt - loadEnded : undefined,
        unsettled: left,
        notifies: proxy.tally,
        consumer,
        samples,
        restarts: Object.fromEntries(instances.map((i) => [i.name, i.starts - 1])),
        passed,
      });
    } finally {
      await conn.end();
    }
    return passed ? 0 : 1;
  } catch (err) {
    say(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  } finally {
    say('stopping every process it started…');
    await cleanUp();
  }
}

function serviceEnv(databaseUrl: string, redisUrl: string, mockUrl: string, caller: object): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    GRPC_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    PAYSVC_CALLERS: JSON.stringify([caller]),
    MOCK_CHANNEL_ENABLED: 'true',
    MOCK_CHANNEL_SECRET: MOCK_SECRET,
    MOCK_GATEWAY_URL: mockUrl,
    QUEUE_PREFIX,
    EVENT_QUEUE_PREFIX,
    CHANNEL_TIMEOUT_MS: '3000',
    SHUTDOWN_GRACE_MS: '3000',
    // The whole schedule of status sync, the sweeps and the retries within the run.
    STATUS_SYNC_DELAYS_MS: '2000,4000,8000',
    STATUS_SYNC_TAIL_MS: '10000',
    SWEEP_INTERVAL_MS: '3000',
    SWEEP_GRACE_MS: '3000',
    OUTBOX_POLL_MS: '200',
    OUTBOX_STALE_MS: '15000',
    EVENT_RETRY_DELAYS_MS: '500,1000,2000,4000,8000,8000,8000,8000,8000,8000',
    AUTOMATIC_REFUND_RETRY_DELAYS_MS: '2000,4000,8000,8000,8000',
    RECONCILE_ENABLED: 'false',
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
