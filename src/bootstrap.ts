import type { Server } from 'node:http';
import type { Deps } from './app/deps';
import { defaultChannels } from './channels';
import type { ChannelModule } from './channels/channel-module';
import type { ChannelCallObserver } from './channels/observed-handler';
import { ChannelRegistry } from './channels/registry';
import type { PayOrderHandler } from './channels/types';
import { secretBox, type Config } from './config';
import { ChannelAccounts } from './app/channel-accounts';
import { PayWayConfigs } from './app/pay-way-configs';
import { Tenants } from './app/tenants';
import { closeDb, connectionGate, createDb } from './infra/db';
import { createLogger } from './infra/logger';
import { Markers } from './infra/markers';
import { createMetrics, type Metrics } from './infra/metrics';
import { closeRedis, createRedis, type RedisClient } from './infra/redis';
import { DependencyHealth } from './infra/health';
import { throttled } from './infra/throttled';
import { Jobs } from './jobs';
import { OrderFeed } from './infra/order-feed';
import { encodeEventsWith, onOrderChanges } from './repo/tx';
import { paymentEventJson } from './grpc/event-mappers';
import { CallerAuth } from './grpc/auth';
import { startGrpcServer, type GrpcServer } from './grpc/server';
import { consoleRouter } from './console';
import { queueBoard } from './http/queue-board';
import { createSidecar, listen } from './http/sidecar';

/** The pay-way handlers of this deployment's channels (see defaultChannels); a pay way without one is listed as disabled. */
export function buildHandlers(config: Config, channels: readonly ChannelModule[] = defaultChannels(config)): PayOrderHandler[] {
  return new ChannelRegistry(channels, { timeoutMs: config.CHANNEL_TIMEOUT_MS }).handlers();
}

/** Every channel call, timed into paysvc_channel_call_duration_seconds. */
function channelCallMetrics(metrics: Metrics): ChannelCallObserver {
  return ({ channel, payWay, operation, outcome, seconds }) =>
    metrics.channelCalls.observe({ channel, pay_way: payWay, operation, outcome }, seconds);
}

/** The use cases' dependencies plus what the process owns to run its queues. */
export interface ServiceDeps extends Deps {
  orderFeed: OrderFeed;
  jobs: Jobs;
  /** Whether MariaDB and Redis answer: /readyz, and the log lines when either goes away or comes back. */
  health: DependencyHealth;
  /** BullMQ's connection (no per-request retry limit, as its workers require). */
  queueRedis: RedisClient;
  /** BullMQ producers' connection: no offline queue, so adds fail fast while Redis is down. */
  queueProducerRedis: RedisClient;
}

/** What a deployment may choose beyond its config: the channel modules it offers (by default, defaultChannels). */
export interface BuildOptions {
  channels?: readonly ChannelModule[];
}

export function buildDeps(config: Config, opts: BuildOptions = {}): ServiceDeps {
  const channels = opts.channels ?? defaultChannels(config);
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_ACQUIRE_TIMEOUT_MS, {
    galera: config.DATABASE_GALERA,
  });
  const queueRedis = createRedis(config.redis, { forBullmq: true });
  const queueProducerRedis = createRedis(config.redis, { failFast: true });
  const jobs = new Jobs(config, queueRedis, queueProducerRedis);
  // Markers, notify limits and the order feed's publisher: hints a request must never wait for.
  const redis = createRedis(config.redis, { failFast: true });
  const log = createLogger(config.LOG_LEVEL);
  const metrics = createMetrics(connectionGate(db));
  const subscriber = createRedis(config.redis);
  const orderFeed = new OrderFeed(redis, subscriber, config.QUEUE_PREFIX, log);
  for (const [name, connection] of Object.entries({ redis, queueRedis, queueProducerRedis, subscriber })) {
    connection.on(
      'error',
      throttled((err: Error) => log.warn({ err, connection: name }, 'Redis connection error')),
    );
  }
  jobs.reportErrors(log);
  onOrderChanges(db, (changes) => orderFeed.publish(changes));
  encodeEventsWith(db, paymentEventJson);
  return {
    db,
    health: new DependencyHealth(db, redis, log, config.QUEUE_PREFIX),
    queueRedis,
    queueProducerRedis,
    jobs,
    statusSync: jobs.statusSync,
    timeouts: jobs.timeouts,
    automaticRefunds: jobs.automaticRefunds,
    reconciliation: jobs.reconciliation,
    deliveries: jobs.deliveries,
    accounts: new ChannelAccounts(db, secretBox(config), config.CHANNEL_ACCOUNT_CACHE_MS, channels),
    tenants: new Tenants(db, config.TENANT_CACHE_MS),
    payWays: new PayWayConfigs(db, config.PAY_WAY_CACHE_MS),
    redis,
    markers: new Markers(redis, config.QUEUE_PREFIX),
    orderFeed,
    watchPollMs: config.WATCH_POLL_MS,
    channels: new ChannelRegistry(channels, { timeoutMs: config.CHANNEL_TIMEOUT_MS }, channelCallMetrics(metrics)),
    log,
    metrics,
    paidAfterClose: config.PAID_AFTER_CLOSE_POLICY,
    maxPayAttempts: config.MAX_PAY_ATTEMPTS,
    duplicatePayment: config.DUPLICATE_PAYMENT_POLICY,
    automaticRefundRetryDelaysMs: config.AUTOMATIC_REFUND_RETRY_DELAYS_MS,
    channelTimeoutMs: config.CHANNEL_TIMEOUT_MS,
    notifyLimits: {
      perTenantPerMinute: config.NOTIFY_REJECT_LIMIT_PER_MINUTE,
      unverifiedPerMinute: config.NOTIFY_UNVERIFIED_LIMIT_PER_MINUTE,
    },
    keyPrefix: config.QUEUE_PREFIX,
    now: () => new Date(),
    reconcile: {
      staleMs: config.RECONCILE_STALE_MS,
      batchSize: config.RECONCILE_BATCH_SIZE,
      maxApplies: config.RECONCILE_MAX_APPLIES,
    },
  };
}

export interface RunningService {
  deps: ServiceDeps;
  grpc: GrpcServer;
  http: Server;
  httpPort: number;
  stop(): Promise<void>;
}

/** Starts the gRPC server, the HTTP sidecar and (unless disabled) the workers over one set of dependencies. */
export async function startService(config: Config, deps = buildDeps(config)): Promise<RunningService> {
  await deps.db.$connect();
  // The producers' connection has no offline queue: it must be up before the first request can add a job.
  await Promise.all([untilReady(deps.queueProducerRedis, 10_000), untilReady(deps.redis, 10_000)]);
  deps.health.start();
  if (config.WORKERS_ENABLED) await deps.jobs.startWorkers(deps);
  const auth = CallerAuth.fromConfig(config.callers, config.PAYSVC_AUTH_DISABLED);
  const grpc = await startGrpcServer(deps, {
    host: config.GRPC_HOST,
    port: config.GRPC_PORT,
    tls: config.grpcTls,
    auth,
    reflection: config.GRPC_REFLECTION,
    production: config.NODE_ENV === 'production',
  });
  const board = queueBoard(config, deps.jobs.queues());
  const operatorConsole = config.CONSOLE_SECRET
    ? consoleRouter(deps, {
        auth,
        callers: config.callers,
        secret: config.CONSOLE_SECRET,
        sessionTtlMs: config.CONSOLE_SESSION_TTL_MS,
        cookieSecure: config.CONSOLE_COOKIE_SECURE,
        defaultTimeZone: config.CONSOLE_TIME_ZONE,
        syncAfterMs: config.STATUS_SYNC_DELAYS_MS[0] ?? 60_000,
      })
    : undefined;
  /** What started above, stopped in two halves: the HTTP sidecar, if up, closes between them. */
  const stopCalls = async () => {
    const feedClosed = deps.orderFeed.close(); // open watches end now rather than hold the drain
    // Calls cut at the grace still run their use cases: wait for them (each is bounded by its channel calls).
    await grpc.shutdown(config.SHUTDOWN_GRACE_MS, 4 * config.CHANNEL_TIMEOUT_MS);
    await feedClosed;
  };
  const stopJobsAndPools = () => closeDeps(deps);
  let http: Server;
  try {
    const sidecar = createSidecar(deps, { board, console: operatorConsole, health: deps.health });
    http = await listen(sidecar, config.HTTP_HOST, config.HTTP_PORT, (err) => deps.log.error({ err }, 'sidecar server error'));
  } catch (err) {
    // A port taken: nothing started here outlives the failed start (the workers, the gRPC server, the pools), so
    // the caller can exit cleanly or try again.
    await stopCalls();
    await stopJobsAndPools();
    throw err;
  }
  const address = http.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.HTTP_PORT;
  deps.log.info({ port: httpPort }, 'HTTP sidecar listening');
  return {
    deps,
    grpc,
    http,
    httpPort,
    async stop() {
      await stopCalls();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await stopJobsAndPools();
    },
  };
}

/**
 * Closes what buildDeps opened: the queues and workers, the health checks, the database pool and the Redis
 * connections, each ended by the time this returns. Not the order feed: whoever stops first closes it (see stopCalls).
 */
export async function closeDeps(deps: ServiceDeps): Promise<void> {
  await deps.jobs.close(deps.log);
  deps.health.stop();
  await closeDb(deps.db);
  await Promise.all([closeRedis(deps.redis), closeRedis(deps.queueRedis), closeRedis(deps.queueProducerRedis)]);
}

/** Waits for an ioredis connection to be ready; a clear error if Redis does not answer in time. */
async function untilReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (REDIS_URL or REDIS_CLUSTER_NODES)`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
