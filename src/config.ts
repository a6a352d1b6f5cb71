import { z } from 'zod';
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
const EVENT_RETRY_DELAYS = [MINUTE, ...Array(2).fill(5 * MINUTE), ...Array(5).fill(10 * MINUTE), ...Array(5).fill(HOUR), ...Array(3).fill(6 * HOUR)];

/** Every environment variable the service reads; the README's configuration table mirrors this. */
const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z.string().regex(/^mysql:\/\//, 'must be a mysql:// URL'),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
    GRPC_HOST: z.string().default('0.0.0.0'),
    GRPC_PORT: port.default(50051),
    HTTP_HOST: z.string().default('0.0.0.0'),
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
    /** Delays of the status queries after an unknown outcome (Hyperswitch's PSync: 60 s, then 5 × 5 min). */
    STATUS_SYNC_DELAYS_MS: delays('60000,300000,300000,300000,300000,300000'),
    /** After that schedule, an unpaid attempt is asked again whenever nobody asked for this long, until it expires. */
    STATUS_SYNC_TAIL_MS: ms(24 * HOUR).default(30 * MINUTE),
    /** How often the sweeper looks for work whose job was lost (overdue orders, stale syncs, stuck events). */
    SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(HOUR).default(MINUTE),
    /** How late an order's own timeout job may be before the sweeper closes the order instead. */
    SWEEP_GRACE_MS: ms(HOUR).default(MINUTE),
    /** How often each worker process polls the outbox for events to hand to the delivery queue. */
    OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(MINUTE).default(250),
    /** A queued event whose (re)try is this overdue lost its job; the sweeper queues it again. */
    OUTBOX_STALE_MS: ms(24 * HOUR).default(5 * MINUTE),
    /** Delays between deliveries of an event that failed; then it is dead-lettered. */
    EVENT_RETRY_DELAYS_MS: delays(EVENT_RETRY_DELAYS.join(',')),
    /** BullMQ prefix of the order side's queues (the orders' notify topics); consumers use the same. */
    EVENT_QUEUE_PREFIX: z.string().regex(/^\{[A-Za-z0-9_-]{1,32}\}$/, 'must look like {name}').default('{paysvc-events}'),
    /** Optional webhook every event is also POSTed to, signed with EVENT_WEBHOOK_SECRET. */
    EVENT_WEBHOOK_URL: z.string().url().optional(),
    EVENT_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    EVENT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(MINUTE).default(5000),
    /** BullMQ key prefix; the braces hash-tag every queue key into one Redis Cluster slot. */
    QUEUE_PREFIX: z.string().regex(/^\{[A-Za-z0-9_-]{1,32}\}$/, 'must look like {name}').default('{paysvc}'),
    /** A payment confirmed after the order closed: `refund` it automatically, or `reopen` the order as paid. */
    PAID_AFTER_CLOSE_POLICY: z.enum(['refund', 'reopen']).default('refund'),
    /** Unverifiable notifies one tenant may send per minute before the rest are refused unread. */
    NOTIFY_REJECT_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100000).default(60),
    /**
     * Unverifiable notifies the whole service takes per minute (all tenants and channels, including tenants with
     * no account at the channel) before the rest are refused unread with 429. Verified notifies never count.
     */
    NOTIFY_UNVERIFIED_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1000000).default(600),
    /** How often a WatchOrder stream re-reads its order when no change message arrived (pub/sub may drop one). */
    WATCH_POLL_MS: z.coerce.number().int().min(50).max(MINUTE).default(5000),
    /** Run the BullMQ workers in this process (turn off for gRPC-only replicas). */
    WORKERS_ENABLED: bool.default(true),
    /** HTTP basic auth of the queue board at /admin/queues on the sidecar; the board is off unless both are set. */
    BULL_BOARD_USER: z.string().regex(/^[\x21-\x39\x3b-\x7e]{1,64}$/, 'must be 1-64 printable characters, no colon or space').optional(),
    BULL_BOARD_PASSWORD: z.string().min(12, 'must be at least 12 characters').max(256).optional(),
    /** The board only shows; set false to let operators retry, clean, pause or remove jobs from it. */
    BULL_BOARD_READ_ONLY: bool.default(true),
  })
  .transform((env) => {
    const production = env.NODE_ENV === 'production';
    const mockEnabled = env.MOCK_CHANNEL_ENABLED ?? !production;
    return {
      ...env,
      NOTIFY_BASE_URL: env.NOTIFY_BASE_URL ?? `http://127.0.0.1:${env.HTTP_PORT}`,
      MOCK_CHANNEL_ENABLED: mockEnabled,
      MOCK_CHANNEL_SECRET: env.MOCK_CHANNEL_SECRET ?? (production ? undefined : 'mock-sandbox-secret'),
    };
  })
  .superRefine((env, ctx) => {
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
      ctx.addIssue({ code: 'custom', path: ['EVENT_QUEUE_PREFIX'], message: 'must differ from QUEUE_PREFIX (a topic could shadow an internal queue)' });
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
