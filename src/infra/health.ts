import type { RedisClient } from './redis';
import { Availability } from './availability';
import { sqlPool, type Db } from './db';
import type { Logger } from './logger';
import { withTimeout } from './with-timeout';

/** /readyz's answer must come within a probe's timeout (Kubernetes: 1 s by default). */
export const READY_BUDGET_MS = 800;
/** How often a process checks its dependencies when nobody asks, so their outages are logged as they happen. */
const PROBE_EVERY_MS = 2000;

export interface HealthReport {
  mysql: string;
  redis: string;
}

/**
 * Whether MariaDB and Redis answer, each within a budget: for /readyz (503 within its budget, never a hang) and
 * for the log (a warning when one goes away, an info line when it is back; see Availability). Redis's own
 * connection events report at once; a slow timer checks both when no probe comes.
 */
export class DependencyHealth {
  readonly mysql: Availability;
  readonly redis: Availability;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly redisConnection: RedisClient,
    log: Logger,
    /**
     * QUEUE_PREFIX. The probe reads a key under it rather than PING: on a Redis Cluster a PING answers from any
     * node, while the queues, markers and limits all live in the prefix's one slot, whose master is what must answer.
     */
    private readonly keyPrefix: string,
  ) {
    this.mysql = new Availability('MariaDB', log);
    this.redis = new Availability('Redis', log);
    redisConnection.on('ready', () => this.redis.answered());
    redisConnection.on('error', (err: Error) => this.stopped || this.redis.failed(err));
    redisConnection.on('close', () => this.stopped || this.redis.failed(new Error('connection closed')));
  }

  async check(budgetMs = READY_BUDGET_MS): Promise<HealthReport> {
    const [mysql, redis] = await Promise.all([
      this.probe(this.mysql, () => sqlPool(this.db).query('SELECT 1'), budgetMs),
      this.probe(this.redis, () => this.redisConnection.exists(`${this.keyPrefix}:ready`), budgetMs),
    ]);
    return { mysql, redis };
  }

  start(everyMs = PROBE_EVERY_MS): void {
    this.timer = setInterval(() => void this.check().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  /** Before the connections close: a stop is no outage. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async probe(availability: Availability, ask: () => Promise<unknown>, budgetMs: number): Promise<string> {
    try {
      await withTimeout(ask(), budgetMs, availability.name);
      availability.answered();
      return 'ok';
    } catch (err) {
      availability.failed(err);
      return (err as Error).message || String(err);
    }
  }
}
