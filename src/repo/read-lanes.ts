import type { Pool, PoolConnection, QueryOptions } from 'mariadb';
import { corkForTurn } from '../infra/coalesced-writes';
import type { ConnectionGate } from '../infra/connection-gate';
import { socketOf } from '../infra/db';

/** Reads one lane carries at once before another lane opens beside it. */
const PER_LANE = 8;
/** Lanes at most (and always fewer than the gate's permits); past that, a read joins the least busy lane. */
const MAX_LANES = 4;

/**
 * Point reads (one short SELECT by key, in autocommit: it takes no row lock and waits for none) pipelined on a few
 * borrowed pool connections instead of a pool round each. A lane borrows a connection when a read comes while
 * another is in flight, no open lane has room and a gate permit is free at that moment (a read that overlaps no other
 * is an ordinary statement: a lane of one costs more than the pool's own round); it carries every read sent to it
 * while it is open, and gives the connection and the permit back once no read on it is unanswered. Concurrent reads
 * then share a connection: no pool hand-over per statement (the pool's acquire and release, its events and timers)
 * and their answers come back in fewer socket reads. A bare-driver loop of Query's statement at 32 in flight cost
 * 57–59 µs of CPU per statement through the pool against 44–45 on 4 pipelined connections; in the service Query fell
 * from 237–264 to 175–222 µs.
 *
 * Lanes never jump the gate's line. While anyone but these reads waits for a permit (a transaction, a write), a read
 * is an ordinary statement that waits its turn behind them, and no read joins an open lane, so the lanes drain and
 * their permits pass on in order. A lane opens on a permit that is free at once or on one a read waited its turn for,
 * there are fewer lanes than permits (none on a gate of one), and no read is tied to a lane still waiting for a permit.
 *
 * Only for statements that cannot wait behind a lock or run long: everything behind one on its lane waits for it.
 * A statement's own error fails only that read. When the lane's connection fails, the lane takes no more reads and
 * each read that was on it is sent once more as an ordinary statement (they are reads: sending one twice is safe).
 */
export class ReadLanes {
  private readonly lanes: Lane[] = [];
  private readonly maxLanes: number;
  /** Reads in flight on their own (not on a lane). */
  private solo = 0;
  /** Of those, the ones waiting in the gate's line. */
  private waiting = 0;

  constructor(
    private readonly pool: Pool,
    private readonly gate: ConnectionGate | undefined,
    private readonly perLane = PER_LANE,
    maxLanes = MAX_LANES,
  ) {
    this.maxLanes = gate ? Math.min(maxLanes, gate.size - 1) : maxLanes;
  }

  async execute<T>(sql: string | QueryOptions, args: unknown[]): Promise<T> {
    const lane = this.laneFor();
    if (!lane) return this.alone<T>(sql, args);
    try {
      return await lane.run<T>(sql, args);
    } catch (err) {
      if (!isFatal(err)) throw err;
      return this.alone<T>(sql, args); // the lane's connection failed under it, not this statement
    }
  }

  /** Lanes open now (the tests look). */
  get open(): number {
    return this.lanes.length;
  }

  private laneFor(): Lane | undefined {
    // Someone other than these reads waits for a permit (a transaction, a write): wait in line behind them.
    if (this.gate && this.gate.queued > this.waiting) return undefined;
    let best: Lane | undefined;
    for (const lane of this.lanes) {
      if (lane.usable && (!best || lane.inFlight < best.inFlight)) best = lane;
    }
    if (best && best.inFlight < this.perLane) return best;
    // A lane pays off only for reads that overlap: one alone costs less as an ordinary statement.
    if (!best && this.solo === 0) return undefined;
    if (this.lanes.length < this.maxLanes && this.takeFreePermit()) return this.openLane();
    return best;
  }

  /** A lane on a permit already held. */
  private openLane(): Lane {
    const lane = new Lane(this.borrow(), (l) => this.close(l));
    this.lanes.push(lane);
    return lane;
  }

  /** A permit only if one is free now (laneFor never waits for one; a read that waited opens its lane in alone()). */
  private takeFreePermit(): boolean {
    if (!this.gate) return true;
    return this.gate.available > 0 && this.gate.enter() === undefined;
  }

  /**
   * A read on its own: through the gate like any pool statement, on whichever connection the pool gives. One that had
   * to wait for its permit opens a lane with it, if there is room for one: reads are queueing, and without that every
   * read after it would wait for a permit of its own while the permits went to reads one at a time, and no lane could
   * open again for as long as reads kept coming.
   */
  private async alone<T>(sql: string | QueryOptions, args: unknown[]): Promise<T> {
    this.solo++;
    try {
      if (!this.gate) return await this.pool.execute<T>(sql, args);
      const wait = this.gate.enter();
      if (wait) {
        this.waiting++;
        try {
          await wait; // a failed wait holds no permit
        } finally {
          this.waiting--;
        }
        if (this.lanes.length < this.maxLanes) return await this.openLane().run<T>(sql, args);
      }
      try {
        return await this.pool.execute<T>(sql, args);
      } finally {
        this.gate.leave();
      }
    } finally {
      this.solo--;
    }
  }

  /** The connection of a lane that already holds its permit. */
  private async borrow(): Promise<PoolConnection> {
    try {
      return await this.pool.getConnection();
    } catch (err) {
      this.gate?.leave();
      throw err;
    }
  }

  private close(lane: Lane): void {
    const at = this.lanes.indexOf(lane);
    if (at >= 0) this.lanes.splice(at, 1);
    lane.connection
      .then(
        async (conn) => {
          try {
            await conn.release(); // the pool drops it if it is dead
          } finally {
            this.gate?.leave(); // after: whoever the permit goes to finds the connection idle
          }
        },
        () => undefined, // never borrowed: its permit went back in borrow()
      )
      .catch(() => undefined); // a release that failed has still left the pool's hands: nothing to do
  }
}

/** The driver marks errors that end the connection (a killed session, a closed socket) as fatal. */
const isFatal = (err: unknown): boolean => (err as { fatal?: boolean } | null)?.fatal === true;

class Lane {
  inFlight = 0;
  private conn: PoolConnection | undefined;
  private failed = false;

  constructor(
    readonly connection: Promise<PoolConnection>,
    private readonly closed: (lane: Lane) => void,
  ) {
    connection.then(
      (conn) => {
        this.conn = conn;
      },
      () => {
        this.failed = true;
      },
    );
  }

  /** Whether a read may still be sent to it: its connection has not failed (or is still being borrowed). */
  get usable(): boolean {
    return !this.failed && (this.conn === undefined || this.conn.isValid());
  }

  async run<T>(sql: string | QueryOptions, args: unknown[]): Promise<T> {
    this.inFlight++;
    try {
      const conn = this.conn ?? (await this.connection);
      const socket = socketOf(conn);
      if (socket) corkForTurn(socket); // the reads sent to this lane in this turn leave in one write
      return await conn.execute<T>(sql, args);
    } catch (err) {
      if (isFatal(err)) this.failed = true;
      throw err;
    } finally {
      if (--this.inFlight === 0) this.closed(this);
    }
  }
}
