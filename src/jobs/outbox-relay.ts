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
/**
 * Passes in flight in one process while a backlog drains: a pass's writes and commit overlap the next pass's
 * claim and Redis round trip. Their claims and adds take turns, so batches reach the topics in claim order.
 */
const RELAY_PASSES = 2;
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
  private loop?: Promise<unknown>;
  private readonly wakers = new Set<() => void>();
  /** The claim-and-add turn of this process's passes: resolves when the pass holding it has queued its batch. */
  private turn: Promise<void> = Promise.resolve();

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
    this.loop = Promise.all(Array.from({ length: RELAY_PASSES }, () => this.run()));
  }

  /** One pass: delivers (or queues) up to a batch of pending events; returns how many. */
  async relayOnce(): Promise<number> {
    if (!(await hasPendingEvents(this.db))) return 0; // one cheap read when idle
    // READ COMMITTED: under REPEATABLE READ the claim would also lock the gap after the last pending row, where
    // every new event is inserted, and stall every payment transaction behind this one's Redis round trip.
    const done = await runTx(
      this.db,
      async (tx): Promise<{ claimed: number; batch?: ClaimedBatch }> => {
        const queued = await this.inTurn(async () => {
          // The other pass's batch is queued by now and its rows still locked (SKIP LOCKED passes them) or
          // committed: this claim takes the events after them.
          const events = await claimPendingEvents(tx, this.batchSize);
          if (events.length === 0) return { claimed: 0 };
          if (this.deliveries.deliversOnClaim) {
            return { claimed: events.length, batch: await this.deliveries.queueClaimed(events, REDIS_TIMEOUT_MS) };
          }
          const ids = events.map((e) => e.id);
          await withTimeout(this.deliveries.enqueue(ids), REDIS_TIMEOUT_MS, 'queuing events in Redis');
          return { claimed: ids.length, ids };
        });
        if (queued.batch) await this.deliveries.recordClaimed(tx, queued.batch);
        if (queued.ids) await markQueued(tx, queued.ids);
        return queued;
      },
      { readCommitted: true },
    );
    if (done.batch) this.deliveries.reportClaimed(done.batch, this.metrics, this.log);
    return done.claimed;
  }

  private async inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.turn;
    let release!: () => void;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    await before;
    try {
      return await fn();
    } finally {
      release();
    }
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
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.pollMs);
      this.wakers.add(wake);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const wake of [...this.wakers]) wake();
    await this.loop;
  }
}
