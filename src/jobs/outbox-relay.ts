import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import { withTimeout } from '../infra/with-timeout';
import { claimPendingEvents, hasPendingEvents, markQueued } from '../repo/outbox';
import { runTx } from '../repo/tx';
import type { ClaimedBatch, EventDeliveries } from './event-delivery';

/**
 * Events per pass: one claim, one Redis round trip and a few statements for all of them. Larger batches cost
 * less per event but hold the claimed rows' locks for longer; no payment transaction waits on them (those only
 * insert new events, and the claim locks no gaps under READ COMMITTED), a replay of a claimed event does.
 */
export const RELAY_BATCH = 500;
/** The claim holds row locks; Redis must answer well within the transaction's life. */
const REDIS_TIMEOUT_MS = 5000;

/**
 * Moves committed outbox rows to the order side. Every worker process runs one; rows are claimed with SKIP
 * LOCKED, a batch at a time, and in the claim's transaction either delivered to their topic queues (the usual
 * case: the topic queue is the only target) and marked DELIVERED, or handed to per-event delivery jobs (a webhook
 * is configured, or a topic's add failed: then the retry schedule applies) and marked QUEUED. Redis is written
 * before the commit, so a crash anywhere leaves the rows PENDING (delivered again next pass, under the event id
 * as job id, so a second add is a no-op) or QUEUED with a job. A lost job is found by the sweeper. Nothing
 * between commit and delivery can drop an event.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly db: Db,
    private readonly deliveries: EventDeliveries,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly pollMs: number,
    private readonly batchSize = RELAY_BATCH,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** One pass: delivers (or queues) up to a batch of pending events; returns how many. */
  async relayOnce(): Promise<number> {
    if (!(await hasPendingEvents(this.db))) return 0; // one cheap read when idle
    // READ COMMITTED: under REPEATABLE READ the claim would also lock the gap after the last pending row, where
    // every new event is inserted, and stall every payment transaction behind this one's Redis round trip.
    const done = await runTx(
      this.db,
      async (tx): Promise<{ claimed: number; batch?: ClaimedBatch }> => {
        const events = await claimPendingEvents(tx, this.batchSize);
        if (events.length === 0) return { claimed: 0 };
        if (this.deliveries.deliversOnClaim) {
          return { claimed: events.length, batch: await this.deliveries.deliverClaimed(tx, events, REDIS_TIMEOUT_MS) };
        }
        const ids = events.map((e) => e.id);
        await withTimeout(this.deliveries.enqueue(ids), REDIS_TIMEOUT_MS, 'queuing events in Redis');
        await markQueued(tx, ids);
        return { claimed: ids.length };
      },
      { readCommitted: true },
    );
    if (done.batch) this.deliveries.reportClaimed(done.batch, this.metrics, this.log);
    return done.claimed;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let relayed = 0;
      try {
        relayed = await this.relayOnce();
      } catch (err) {
        this.log.warn({ err }, 'outbox relay pass failed; retrying');
      }
      if (relayed < this.batchSize && this.running) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}
