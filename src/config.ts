import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isTimeZone } from './domain/time-zones';
import { parseClusterNodes, type RedisTarget } from './infra/redis';
import { SecretBox } from './infra/secret-box';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(0).max(65535);
const ms = (max: number) => z.coerce.number().int().min(0).max(max);
const delays = (dflt: string) =>
  z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be comma-separated milliseconds')
    .default(dflt)
    .transform((s) => s.split(',').map(Number));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Hyperswitch's outgoing webhook retries: 60 s, 2 x 5 min, 5 x 10 min, 5 x 1 h, 3 x 6 h (about 24 h in all). */
const EVENT_RETRY_DELAYS = [
  MINUTE,
  ...Array<number>(2).fill(5 * MINUTE),
  ...Array<number>(5).fill(10 * MINUTE),
  ...Array<number>(5).fill(HOUR),
  ...Array<number>(3).fill(6 * HOUR),
];

/** Every environment variable the service reads; the README's configuration table mirrors this. */
const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z.string().regex(/^mysql:\/\//, 'must be a mysql:// URL'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    /** One Redis server; or REDIS_CLUSTER_NODES for a Redis Cluster (one of the two). */
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
    /** A Redis Cluster: `host:port,host:port,…`, a few of its nodes (the client discovers the rest). */
    REDIS_CLUSTER_NODES: z.string().min(1).optional(),
    /** Loopback by default; containers set 0.0.0.0 explicitly (Dockerfile, docker-compose.yml). */
    GRPC_HOST: z.string().default('127.0.0.1'),
    GRPC_PORT: port.default(50051),
    /** TLS on the gRPC port: the server's certificate chain and key (PEM files). Both or neither. */
    GRPC_TLS_CERT_FILE: z.string().min(1).optional(),
    GRPC_TLS_KEY_FILE: z.string().min(1).optional(),
    /** mTLS: clients must present a certificate issued by this CA (PEM file); needs GRPC_TLS_CERT_FILE. */
    GRPC_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
    /** Loud opt-out: plaintext gRPC in production, only where a mesh or proxy terminates TLS in front. */
    GRPC_PLAINTEXT_IN_PRODUCTION: bool.default(false),
    /** gRPC server reflection (grpcurl list/describe). */
    GRPC_REFLECTION: bool.default(true),
    /** The callers (a JSON array of entries as callerSchema below describes): a file, or the JSON itself. Not both. */
    PAYSVC_CALLERS_FILE: z.string().min(1).optional(),
    PAYSVC_CALLERS: z.string().min(1).optional(),
    /** Loud opt-out: no caller authentication at all; every call acts as `anonymous` for every tenant. */
    PAYSVC_AUTH_DISABLED: bool.default(false),
    HTTP_HOST: z.string().default('127.0.0.1'),
    HTTP_PORT: port.default(8080),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Public base URL of the notify sidecar, as the channels must call it. */
    NOTIFY_BASE_URL: z.string().url().optional(),
    CHANNEL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(5000),
    SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(120000).default(10000),
    MOCK_CHANNEL_ENABLED: bool.optional(),
    MOCK_GATEWAY_URL: z.string().url().default('http://127.0.0.1:9100'),
    MOCK_CHANNEL_SECRET: z.string().min(16).optional(),
    /** Master keys sealing channel secrets at rest: `id:base64(32 bytes)[,id:base64…]`, newest first. */
    CHANNEL_SECRETS_KEYS: z.string().min(1).optional(),
    CHANNEL_ACCOUNT_CACHE_MS: z.coerce.number().int().min(0).max(600000).default(30000),
    /** How long a registered tenant is cached per process; unknown tenants are never cached. */
    TENANT_CACHE_MS: z.coerce.number().int().min(0).max(600000).default(30000),
    /**
     * How long a tenant's pay-way configs are cached per process: an UpdatePayWay reaches every other instance
     * (a disabled pay way refused, a new fee rule charged) within this.
     */
    PAY_WAY_CACHE_MS: z.coerce.number().int().min(0).max(600000).default(10000),
    /** Delays of the status queries after an unknown outcome (Hyperswitch's PSync: 60 s, then 5 × 5 min). */
    STATUS_SYNC_DELAYS_MS: delays('60000,300000,300000,300000,300000,300000'),
    /** After that schedule, an unpaid attempt is asked again whenever nobody asked for this long, until it expires. */
    STATUS_SYNC_TAIL_MS: ms(24 * HOUR).default(30 * MINUTE),
    /** How often the sweeper looks for work whose job was lost (overdue orders, stale syncs, stuck events). */
    SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(HOUR).default(MINUTE),
    /** How late an order's own timeout job may be before the sweeper closes the order instead. */
    SWEEP_GRACE_MS: ms(HOUR).default(MINUTE),
    /** Expired orders one timeout job reads per query, closes at once, and works through before yielding its worker. */
    TIMEOUT_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
    TIMEOUT_CLOSE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    TIMEOUT_STEP_MS: z.coerce.number().int().min(100).max(MINUTE).default(5000),
    /** Timeout jobs (expiry slots, the overdue backlog) each worker process runs at once. */
    TIMEOUT_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    /** How often each worker process polls the outbox for events to hand to the delivery queue. */
    OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(MINUTE).default(250),
    /** How often each worker process folds the statistics deltas the triggers append into the rollup. */
    STATS_FOLD_MS: z.coerce.number().int().min(10).max(HOUR).default(1000),
    /** A queued event whose (re)try is this overdue lost its job; the sweeper queues it again. */
    OUTBOX_STALE_MS: ms(24 * HOUR).default(5 * MINUTE),
    /** Delays between deliveries of an event that failed; then it is dead-lettered. */
    EVENT_RETRY_DELAYS_MS: delays(EVENT_RETRY_DELAYS.join(',')),
    /** BullMQ prefix of the order side's queues (the orders' notify topics); consumers use the same. */
    EVENT_QUEUE_PREFIX: z
      .string()
      .regex(/^\{[A-Za-z0-9_-]{1,32}\}$/, 'must look like {name}')
      .default('{paysvc-events}'),
    /** Optional webhook every event is also POSTed to, signed with EVENT_WEBHOOK_SECRET. */
    EVENT_WEBHOOK_URL: z.string().url().optional(),
    EVENT_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    EVENT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(MINUTE).default(5000),
    /** BullMQ key prefix; the braces hash-tag every queue key into one Redis Cluster slot. */
    QUEUE_PREFIX: z
      .string()
      .regex(/^\{[A-Za-z0-9_-]{1,32}\}$/, 'must look like {name}')
      .default('{paysvc}'),
    /** Statement reconciliation: a RUNNING run started longer ago than this is a crashed one, taken over (FAILED 'abandoned'). */
    RECONCILE_STALE_MS: ms(24 * HOUR).default(HOUR),
    /** Statement lines looked up per batch (one SELECT of attempts, one of refunds, one INSERT of seen keys). */
    RECONCILE_BATCH_SIZE: z.coerce.number().int().min(1).max(4000).default(1000),
    /** Payments and refunds one run applies at most; beyond, the lines are flagged for the next run or a person. */
    RECONCILE_MAX_APPLIES: z.coerce.number().int().min(0).max(100000).default(1000),
    /** A payment confirmed after the order closed: `refund` it automatically, or `reopen` the order as paid. */
    PAID_AFTER_CLOSE_POLICY: z.enum(['refund', 'reopen']).default('refund'),
    /**
     * A FAILED order may be prepaid again (a retry, with a new attempt) until this many of its attempts have
     * failed; the next Prepay is refused with PAY_ATTEMPT_LIMIT.
     */
    MAX_PAY_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
    /**
     * A second attempt of a paid order paid too (the buyer paid twice): `refund` it automatically (out_refund_no
     * DUP-<attempt_no>), or `hold` it for an operator (Refund naming the attempt).
     */
    DUPLICATE_PAYMENT_POLICY: z.enum(['refund', 'hold']).default('refund'),
    /**
     * When an automatic refund (AUTO- after close, DUP- of a duplicate) fails at its channel, the waits before
     * its next tries; after the last one fails, AUTOMATIC_REFUND_FAILED and paysvc_automatic_refund_failed_total.
     */
    AUTOMATIC_REFUND_RETRY_DELAYS_MS: delays('300000,1800000,7200000'),
    /** Unverifiable notifies one tenant may send per minute before the rest are refused unread. */
    NOTIFY_REJECT_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100000).default(60),
    /**
     * Unverifiable notifies the whole service takes per minute (all tenants and channels, including tenants with
     * no account at the channel) before the rest are refused unread with 429. Verified notifies never count.
     */
    NOTIFY_UNVERIFIED_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1000000).default(600),
    /** How often a WatchOrder stream re-reads its order when no change message arrived (pub/sub may drop one). */
    WATCH_POLL_MS: z.coerce.number().int().min(50).max(MINUTE).default(5000),
    /** The daily reconciliation of every tenant's statements at each channel that publishes them (issue 15). */
    RECONCILE_ENABLED: bool.default(true),
    /** The local time (HH:mm, in RECONCILE_TIME_ZONE) the daily job reconciles the previous Beijing day. */
    RECONCILE_AT: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:mm (24-hour)')
      .default('10:00'),
    RECONCILE_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
    /**
     * Waits before the daily job asks again for a statement the channel has not published yet (or a run that
     * failed); after the last, the day is given up (logged at error, paysvc_reconcile_given_up_total).
     */
    RECONCILE_RETRY_DELAYS_MS: delays(
      Array<number>(48)
        .fill(30 * MINUTE)
        .join(','),
    ),
    /** Run the BullMQ workers in this process (turn off for gRPC-only replicas). */
    WORKERS_ENABLED: bool.default(true),
    /** HTTP basic auth of the queue board at /admin/queues on the sidecar; the board is off unless both are set. */
    BULL_BOARD_USER: z
      .string()
      .regex(/^[\x21-\x39\x3b-\x7e]{1,64}$/, 'must be 1-64 printable characters, no colon or space')
      .optional(),
    BULL_BOARD_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(256).optional(),
    /** The board only shows; set false to let operators retry, clean, pause or remove jobs from it. */
    BULL_BOARD_READ_ONLY: bool.default(true),
    /**
     * The operator console at /console on the sidecar (src/console): on when set. Signs its session cookies and
     * CSRF tokens (HMAC-SHA256); changing it ends every session.
     */
    CONSOLE_SECRET: z.string().min(32, 'must be at least 32 characters').max(512).optional(),
    /** How long a console login lasts. */
    CONSOLE_SESSION_TTL_MS: z.coerce
      .number()
      .int()
      .min(MINUTE)
      .max(7 * 24 * HOUR)
      .default(8 * HOUR),
    /**
     * Whether the console's session cookie carries Secure (sent over HTTPS only). The sidecar itself speaks plain
     * HTTP behind a TLS-terminating proxy, so it cannot tell: on by default in production, off elsewhere.
     */
    CONSOLE_COOKIE_SECURE: bool.optional(),
    /** The console's time zone until an operator picks another (an IANA name). */
    CONSOLE_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
    /**
     * How long a statement waits for a database connection before the call answers UNAVAILABLE DATABASE_BUSY
     * (retry): bounds every call while MariaDB is down or the pool is exhausted, well inside a caller's deadline.
     */
    DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(MINUTE).default(3000),
    /**
     * The database is a Galera cluster whose nodes take writes from different replicas: reads wait for the node to
     * catch up with the cluster (wsrep_sync_wait), and the driver does not pipeline PREPARE with EXECUTE (see
     * DbSession in src/infra/db.ts). Off for a single server or MySQL.
     */
    DATABASE_GALERA: bool.default(false),
    /**
     * A running job's lock (renewed every half of it) and how often workers look for jobs whose lock lapsed: the
     * jobs of a crashed process (events being delivered, timeouts, syncs) run again within about their sum.
     */
    JOB_LOCK_MS: z.coerce
      .number()
      .int()
      .min(1000)
      .max(10 * MINUTE)
      .default(5000),
    JOB_STALLED_CHECK_MS: z.coerce
      .number()
      .int()
      .min(500)
      .max(10 * MINUTE)
      .default(2500),
  })
  .transform((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    const mockEnabled = env.MOCK_CHANNEL_ENABLED ?? !production;
    return {
      ...env,
      grpcTls: grpcTls(env, ctx),
      redis: redisTarget(env, ctx),
      callers: callers(env, ctx),
      NOTIFY_BASE_URL: env.NOTIFY_BASE_URL ?? `http://127.0.0.1:${env.HTTP_PORT}`,
      MOCK_CHANNEL_ENABLED: mockEnabled,
      CONSOLE_COOKIE_SECURE: env.CONSOLE_COOKIE_SECURE ?? production,
      MOCK_CHANNEL_SECRET: env.MOCK_CHANNEL_SECRET ?? (production ? undefined : 'mock-sandbox-secret'),
    };
  })
  .superRefine((env, ctx) => {
    if (env.MOCK_CHANNEL_ENABLED && env.NODE_ENV === 'production') {
      ctx.addIssue({ code: 'custom', path: ['MOCK_CHANNEL_ENABLED'], message: 'the mock channel never runs in production' });
    }
    if (env.MOCK_CHANNEL_ENABLED && !env.MOCK_CHANNEL_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['MOCK_CHANNEL_SECRET'], message: 'required when the mock channel is enabled' });
    }
    if (env.EVENT_WEBHOOK_URL && !env.EVENT_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['EVENT_WEBHOOK_SECRET'], message: 'required when EVENT_WEBHOOK_URL is set' });
    }
    if (!env.BULL_BOARD_USER !== !env.BULL_BOARD_PASSWORD) {
      const missing = env.BULL_BOARD_USER ? 'BULL_BOARD_PASSWORD' : 'BULL_BOARD_USER';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'the queue board needs both BULL_BOARD_USER and BULL_BOARD_PASSWORD' });
    }
    if (env.QUEUE_PREFIX === env.EVENT_QUEUE_PREFIX) {
      ctx.addIssue({
        code: 'custom',
        path: ['EVENT_QUEUE_PREFIX'],
        message: 'must differ from QUEUE_PREFIX (a topic could shadow an internal queue)',
      });
    }
    if (env.NODE_ENV === 'production' && !env.grpcTls && !env.GRPC_PLAINTEXT_IN_PRODUCTION) {
      ctx.addIssue({
        code: 'custom',
        path: ['GRPC_TLS_CERT_FILE'],
        message: 'required in production (plaintext only behind a TLS-terminating proxy: GRPC_PLAINTEXT_IN_PRODUCTION=true)',
      });
    }
    if (env.NODE_ENV === 'production' && env.callers.length === 0 && !env.PAYSVC_AUTH_DISABLED) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAYSVC_CALLERS_FILE'],
        message: 'callers are required in production (PAYSVC_CALLERS_FILE or PAYSVC_CALLERS; `npm run caller -- new` mints one)',
      });
    }
    if (env.PAYSVC_AUTH_DISABLED && env.callers.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['PAYSVC_AUTH_DISABLED'], message: 'cannot be true while callers are configured' });
    }
    if (env.PAYSVC_AUTH_DISABLED && env.CONSOLE_SECRET) {
      // Its sign-in is the callers' token check: with that off, any token (even none) would open it, every tenant.
      ctx.addIssue({
        code: 'custom',
        path: ['CONSOLE_SECRET'],
        message: 'the console cannot run while PAYSVC_AUTH_DISABLED is true (it signs callers in with their tokens); unset one',
      });
    }
    if (env.NODE_ENV === 'production' && !env.CHANNEL_SECRETS_KEYS) {
      ctx.addIssue({ code: 'custom', path: ['CHANNEL_SECRETS_KEYS'], message: 'required in production' });
    }
    if (env.CHANNEL_SECRETS_KEYS) {
      try {
        SecretBox.fromSpec(env.CHANNEL_SECRETS_KEYS);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['CHANNEL_SECRETS_KEYS'], message: (err as Error).message });
      }
    }
  });

export type Config = z.output<typeof schema>;

type Ctx = z.RefinementCtx;

function readVar(file: string, name: string, ctx: Ctx): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      path: [name],
      message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    });
    return undefined;
  }
}

/** The gRPC port's certificate, key and (for mTLS) client CA, read from their files; undefined for plaintext. */
function grpcTls(
  env: { GRPC_TLS_CERT_FILE?: string; GRPC_TLS_KEY_FILE?: string; GRPC_TLS_CLIENT_CA_FILE?: string },
  ctx: Ctx,
): GrpcTls | undefined {
  const { GRPC_TLS_CERT_FILE: certFile, GRPC_TLS_KEY_FILE: keyFile, GRPC_TLS_CLIENT_CA_FILE: caFile } = env;
  if (!certFile !== !keyFile) {
    ctx.addIssue({
      code: 'custom',
      path: [certFile ? 'GRPC_TLS_KEY_FILE' : 'GRPC_TLS_CERT_FILE'],
      message: 'TLS needs both GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE',
    });
    return undefined;
  }
  if (caFile && !certFile) {
    ctx.addIssue({ code: 'custom', path: ['GRPC_TLS_CLIENT_CA_FILE'], message: 'mTLS needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE too' });
    return undefined;
  }
  if (!certFile || !keyFile) return undefined;
  const cert = readVar(certFile, 'GRPC_TLS_CERT_FILE', ctx);
  const key = readVar(keyFile, 'GRPC_TLS_KEY_FILE', ctx);
  const clientCa = caFile ? readVar(caFile, 'GRPC_TLS_CLIENT_CA_FILE', ctx) : undefined;
  return cert && key && (clientCa || !caFile) ? { cert, key, clientCa } : undefined;
}

/** REDIS_URL or REDIS_CLUSTER_NODES, exactly one of them. */
function redisTarget(env: { REDIS_URL?: string; REDIS_CLUSTER_NODES?: string }, ctx: Ctx): RedisTarget {
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes } = env;
  if (url && nodes) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'set REDIS_URL (one server) or REDIS_CLUSTER_NODES, not both' });
  } else if (nodes) {
    try {
      return { kind: 'cluster', nodes: parseClusterNodes(nodes) };
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: `must be host:port,host:port,…: ${(err as Error).message}` });
    }
  } else if (!url) {
    ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'required (or REDIS_CLUSTER_NODES for a Redis Cluster)' });
  }
  return { kind: 'single', url: url ?? '' };
}

export interface GrpcTls {
  cert: Buffer;
  key: Buffer;
  /** Set for mTLS: client certificates are required and verified against it. */
  clientCa?: Buffer;
}

/** The callers from PAYSVC_CALLERS_FILE or PAYSVC_CALLERS; an issue names the variable and the bad entry. */
function callers(env: { PAYSVC_CALLERS_FILE?: string; PAYSVC_CALLERS?: string }, ctx: Ctx): CallerConfig[] {
  if (env.PAYSVC_CALLERS_FILE && env.PAYSVC_CALLERS) {
    ctx.addIssue({ code: 'custom', path: ['PAYSVC_CALLERS'], message: 'set PAYSVC_CALLERS_FILE or PAYSVC_CALLERS, not both' });
    return [];
  }
  const name = env.PAYSVC_CALLERS_FILE ? 'PAYSVC_CALLERS_FILE' : 'PAYSVC_CALLERS';
  const text = env.PAYSVC_CALLERS_FILE ? readVar(env.PAYSVC_CALLERS_FILE, name, ctx)?.toString('utf8') : env.PAYSVC_CALLERS;
  if (text === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: [name], message: `not JSON: ${(err as Error).message}` });
    return [];
  }
  const parsed = callerList.safeParse(json);
  if (!parsed.success) {
    for (const i of parsed.error.issues)
      ctx.addIssue({ code: 'custom', path: [name], message: `${i.path.join('.') || '(list)'}: ${i.message}` });
    return [];
  }
  return parsed.data;
}

/**
 * One caller of PaymentService. Its name is the actor on every audit row it causes, so it cannot contain ':'
 * (the system's own actors do: `system:timeout`, `channel:notify`). Its credential is a bearer token, kept
 * only as the SHA-256 of the token, and/or an mTLS client certificate identity; a caller with both must
 * present both.
 */
const callerSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z 0-9 . _ - (no colon: system actors have one)'),
    tokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the token (npm run caller -- new)')
      .optional(),
    certificate: z
      .object({
        /** The certificate's subject CN. */
        cn: z.string().min(1).max(256).optional(),
        /** One subjectAltName entry, as Node prints it: `DNS:orders.internal`, `URI:spiffe://…`. */
        san: z
          .string()
          .regex(/^(DNS|URI|IP Address|email):\S+$/, 'must look like DNS:name or URI:spiffe://…')
          .optional(),
        /** The certificate's SHA-256 fingerprint, `AB:CD:…`. */
        sha256: z
          .string()
          .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'must be the SHA-256 fingerprint as AB:CD:… (upper case)')
          .optional(),
      })
      .strict()
      .refine((c) => c.cn || c.san || c.sha256, 'needs cn, san or sha256')
      .optional(),
    /** The tenants it may act for, or "*" for all. */
    tenants: z.union([
      z.literal('*'),
      z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a tenant id (1-64 of A-Z a-z 0-9 _ -)')).min(1),
    ]),
    permissions: z.array(z.enum(['pay', 'operate', 'view'])).min(1),
  })
  .strict()
  .refine((c) => c.tokenSha256 || c.certificate, 'needs tokenSha256 or certificate');

export const callerList = z.array(callerSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  for (const c of list) {
    if (seen.has(c.name)) ctx.addIssue({ code: 'custom', message: `caller name ${c.name} is used twice` });
    if (c.tokenSha256 && seen.has(c.tokenSha256))
      ctx.addIssue({ code: 'custom', message: `caller ${c.name} reuses another caller's token` });
    seen.add(c.name);
    if (c.tokenSha256) seen.add(c.tokenSha256);
  }
});

export type CallerConfig = z.output<typeof callerSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment; the error names every missing or invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** The master key ring for channel secrets; a fixed development key outside production. */
export function secretBox(config: Config): SecretBox {
  return config.CHANNEL_SECRETS_KEYS ? SecretBox.fromSpec(config.CHANNEL_SECRETS_KEYS) : SecretBox.development();
}
