import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { throttled } from '../infra/throttled';
import { FOLD_BATCH, foldStatsDeltas } from '../repo/stats-fold';

/**
 * Folds the statistics deltas the triggers append (src/repo/stats-fold.ts) into the rollup tables: every worker
 * process runs one; a full batch is followed at once by the next, otherwise it waits `pollMs`. Statistics are
 * exact without it (GetStatistics reads pending deltas too); folding keeps that read short and the delta table
 * small. A failed fold changes nothing and is tried again on the next turn.
 */
export class StatsFolder {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private readonly warn: (err: unknown) => void;

  constructor(
    private readonly db: Db,
    log: Logger,
    private readonly pollMs: number,
  ) {
    this.warn = throttled((err: unknown) => log.warn({ err }, 'statistics fold failed; retrying'));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let folded = 0;
    while (this.running) {
      // A full batch is followed at once by the next; otherwise (and before the first) the fold waits a turn.
      if (folded < FOLD_BATCH) await this.sleep();
      if (!this.running) return;
      folded = 0;
      try {
        folded = await foldStatsDeltas(this.db);
      } catch (err) {
        this.warn(err);
      }
    }
  }

  private sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
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
