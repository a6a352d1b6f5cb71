import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { withTimeout } from '../infra/with-timeout';
import { claimPendingEvents, hasPendingEvents, markQueued } from '../repo/outbox';
import { runTx } from '../repo/tx';
import type { EventDeliveries } from './event-delivery';

const BATCH = 100;
/** The claim holds row locks; Redis must answer well within the transaction's life. */
const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * Moves committed outbox rows into the delivery queue. Every worker process runs one; rows are claimed with
 * SKIP LOCKED and marked QUEUED in the same transaction that queued their jobs, so a crash anywhere leaves
 * them PENDING (queued again next pass; the job id is the event id, so a second add is a no-op) or QUEUED
 * with a job. A lost job is found by the sweeper. Nothing between commit and delivery can drop an event.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly db: Db,
    private readonly deliveries: EventDeliveries,
    private readonly log: Logger,
    private readonly pollMs: number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** One pass: queues up to a batch of pending events; returns how many. */
  async relayOnce(): Promise<number> {
    if (!(await hasPendingEvents(this.db))) return 0; // one cheap read when idle
    // READ COMMITTED: under REPEATABLE READ the claim would also lock the gap after the last pending row, where
    // every new event is inserted, and stall every payment transaction behind this one's Redis round trip.
    return runTx(
      this.db,
      async (tx) => {
        const ids = await claimPendingEvents(tx, BATCH);
        if (ids.length === 0) return 0;
        await withTimeout(this.deliveries.enqueue(ids), ENQUEUE_TIMEOUT_MS, 'queuing events in Redis');
        await markQueued(tx, ids);
        return ids.length;
      },
      { readCommitted: true },
    );
  }

  private async run(): Promise<void> {
    while (this.running) {
      let relayed = 0;
      try {
        relayed = await this.relayOnce();
      } catch (err) {
        this.log.warn({ err }, 'outbox relay pass failed; retrying');
      }
      if (relayed < BATCH && this.running) await this.sleep();
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
