import type { Pool, PoolConnection, QueryOptions } from 'mariadb';
import type { ConnectionGate } from '../infra/connection-gate';
import { connectionGate, pipelinesStatements, socketOf, sqlPool, type Db } from '../infra/db';
import type { OrderEvent } from './history';
import { DriverSql, sqlOf } from './sql';

/**
 * A transaction on one driver connection: raw statements only (Prisma's call shape, see Sql), no ORM layer.
 * Repository functions take it so use cases decide the transaction's shape.
 */
export class Tx extends DriverSql {
  /** BEGIN succeeded: statements go straight to the connection. */
  private begun = false;
  /** A statement was sent or queued while BEGIN was unanswered. */
  private issued = false;
  /** On a connection that does not pipeline: the last statement issued, which the next one waits for. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    readonly connection: PoolConnection,
    /** The transaction's BEGIN, sent and not yet awaited (runTx); none when the caller began it. */
    private readonly began: Promise<unknown> = Promise.resolve(),
    /** Whether the connection pipelines (pipelinesStatements); a Galera cluster's does not. */
    private readonly pipelines = true,
  ) {
    super(connection);
    began.then(
      () => (this.begun = true),
      () => undefined, // told by the statements below, or by settled()
    );
  }

  /**
   * While BEGIN is unanswered, the first statement, if it only reads, is sent at once behind it (the driver
   * pipelines them and both answers come back together: one wait, not two); its rows are handed over only once
   * BEGIN has succeeded. Anything else waits for BEGIN, and goes out in the order it was issued: a write sent behind
   * a BEGIN that failed would have run, and committed, on its own.
   *
   * A connection that does not pipeline gains nothing from that, and mariadb 3.4.5 without pipelining loses a
   * statement issued while two commands are queued (runTx's SET TRANSACTION and BEGIN, or two earlier statements)
   * when its text is in the prepared-statement cache: the PREPARE it queues is answered from the cache without a
   * round trip, but stays first in the queue of commands awaiting an answer, so the EXECUTE queued after it is
   * never sent (a Galera run's outbox relay hung on its claim). There each statement waits for BEGIN and the one
   * before it.
   */
  protected override run<T>(sql: string | QueryOptions, args: unknown[]): Promise<T> {
    if (!this.pipelines) {
      const result = this.last.then(() => this.began).then(() => super.run<T>(sql, args));
      this.last = result.catch(() => undefined); // a failed statement does not stop the ones after it
      return result;
    }
    if (this.begun) return super.run(sql, args);
    const first = !this.issued;
    this.issued = true;
    if (!first || !READ.test(typeof sql === 'string' ? sql : sql.sql)) return this.began.then(() => super.run<T>(sql, args));
    const sent = super.run<T>(sql, args);
    return this.began.then(
      () => sent,
      (err: unknown) => {
        sent.catch(() => undefined); // BEGIN's failure is the one to tell; the read's own outcome no longer matters
        throw err;
      },
    );
  }

  /** BEGIN's outcome, and on a connection that does not pipeline every statement's: for runTx before COMMIT. */
  async settled(): Promise<void> {
    await this.last;
    await this.began;
  }
}

/** A statement that only reads (locking reads included): safe to send before BEGIN's answer. */
const READ = /^\s*SELECT\s/i;

/** Where a raw statement may run: in a transaction, or on the client's pool (autocommit). */
export type Queryable = Db | Tx;

/** The driver runner for either: the transaction itself, or the pool under the Prisma client. */
export const sqlFor = (q: Queryable): DriverSql => (q instanceof Tx ? q : sqlOf(q));

/** MySQL error numbers the driver reports (SqlError.errno); Prisma wraps them in meta.code. */
const ER_DUP_ENTRY = 1062;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
/** The driver's own: no pool connection within acquireTimeout. */
const ER_GET_CONNECTION_TIMEOUT = 45028;
/**
 * The driver's own: the connection was gone (closed before the statement, dropped under it, closed during it: a
 * server restarted, a Galera node killed, a proxy failing over). The pool's next connection may reach a live node.
 */
const LOST_CONNECTION = new Set([45001, 45009, 45013]);
/** A Galera node outside the primary component: "WSREP has not yet prepared node for application use". */
const ER_UNKNOWN_COM_ERROR = 1047;
const ER_NET_PACKET_TOO_LARGE = 1153;
/** The mariadb driver numbers its own errors from 45001. */
const DRIVER_ERRNO_MIN = 45000;
const DRIVER_ERRNO_MAX = 45999;

/**
 * The error number: the driver's own (SqlError.errno), or the one Prisma wraps: meta.code for raw queries, and for
 * model queries (Prisma 7, e.g. P2039) the driver adapter's cause in meta.driverAdapterError.
 */
const errnoOf = (err: unknown): number | undefined => {
  const e = err as { errno?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { code?: unknown } } } } | null;
  if (typeof e?.errno === 'number') return e.errno;
  const adapterCode = e?.meta?.driverAdapterError?.cause?.code;
  if (typeof adapterCode === 'number') return adapterCode;
  const code = Number(e?.meta?.code);
  return Number.isFinite(code) ? code : undefined;
};

/** True for a unique-key violation: from the driver (1062), Prisma's model API (P2002) or a Prisma raw query. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  return errnoOf(err) === ER_DUP_ENTRY || e.code === 'P2002' || e.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation';
}

/**
 * A lost race: a deadlock victim (1213, also Galera's certification failure), a lock wait timeout (1205), or
 * Prisma's write conflict (P2034). By number only: the driver's messages carry the statement's parameters and a
 * duplicate key's value, so a message naming "deadlock" may be a caller's data (found in review).
 */
function isRetryableTxError(err: unknown): boolean {
  const e = err as { code?: unknown };
  const errno = errnoOf(err);
  return e?.code === 'P2034' || errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/**
 * The database was busy or away rather than wrong: a lock wait timeout (1205), no pool connection in time (the
 * driver's 45028, Prisma's P2024/P2028), a deadlock that outlived runTx's retries, or a connection lost under a
 * statement (MariaDB restarted or failed over: the driver's fatal errors, SQLSTATE class 08; its outcome unknown:
 * committed or not). The caller may retry the request with its idempotency key.
 */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: unknown };
  return (
    isRetryableTxError(err) ||
    errnoOf(err) === ER_GET_CONNECTION_TIMEOUT ||
    e?.code === 'P2028' ||
    e?.code === 'P2024' ||
    isLostConnection(err)
  );
}

/** Socket errors the driver passes on as they are (fatal, SQLSTATE HY000) when the server resets the connection. */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED']);

function isLostConnection(err: unknown): boolean {
  const e = err as { fatal?: unknown; sqlState?: unknown; code?: unknown; message?: unknown } | null;
  const errno = errnoOf(err);
  if (errno !== undefined && LOST_CONNECTION.has(errno)) return true;
  // The driver's own errors carry SQLSTATE 08S01 by default, protocol errors too (45011 an unexpected packet, 45020
  // EOF expected): of those, only the ones above are a connection that went away.
  if (errno !== undefined && errno >= DRIVER_ERRNO_MIN && errno <= DRIVER_ERRNO_MAX) return false;
  // A packet over max_allowed_packet is fatal with 08S01 too, and sending it again fails again.
  if (errno === ER_NET_PACKET_TOO_LARGE) return false;
  // 1047 is also "unknown command", a protocol bug on any server: only the WSREP one is a node that is away.
  if (errno === ER_UNKNOWN_COM_ERROR) return typeof e?.message === 'string' && e.message.includes('WSREP');
  if (e?.fatal !== true) return false;
  return (typeof e.sqlState === 'string' && e.sqlState.startsWith('08')) || (typeof e.code === 'string' && SOCKET_ERRORS.has(e.code));
}

/** An order's status or amounts changed; announced once the transaction that changed it commits. */
export interface OrderChange {
  payNo: string;
  status: string;
  version: bigint;
}

const changesByTx = new WeakMap<Tx, OrderChange[]>();
const commitListeners = new WeakMap<Db, (changes: OrderChange[]) => void>();

/** An outbox event in its wire shape (JSON), as stored and delivered. */
export type EventEncoder = (event: OrderEvent) => object;
const encoders = new WeakMap<Db, EventEncoder>();
const encoderByTx = new WeakMap<Tx, EventEncoder>();

/**
 * How events written through this client are encoded: the wire shape is the transport's, given once at start
 * (bootstrap), so the repository stores what it is handed and never builds a protocol message itself.
 */
export function encodeEventsWith(db: Db, encode: EventEncoder): void {
  encoders.set(db, encode);
}

/**
 * The encoder of the client that runs this transaction (see runTx), or of this client; loud when the composition root
 * forgot it.
 */
export function eventEncoderOf(q: Queryable): EventEncoder {
  const encode = q instanceof Tx ? encoderByTx.get(q) : encoders.get(q);
  if (!encode) throw new Error('no event encoder for this database client: call encodeEventsWith(db, …) at start');
  return encode;
}

/** Called by transition(): the change is announced only if (and after) the transaction commits. */
export function noteOrderChange(tx: Tx, change: OrderChange): void {
  changesByTx.get(tx)?.push(change);
}

/** Tells who listens (onOrderChanges) of changes committed through this client; best effort (watchers also poll). */
export function announceOrderChanges(db: Db, changes: OrderChange[]): void {
  try {
    commitListeners.get(db)?.(changes);
  } catch {
    /* announcing is best effort; watchers also poll */
  }
}

/** Who hears about committed order changes made through this client (WatchOrder's feed). */
export function onOrderChanges(db: Db, listener: (changes: OrderChange[]) => void): void {
  commitListeners.set(db, listener);
}

/**
 * Tries of one transaction (or autocommit statement) that loses a conflict before giving up. On one server a
 * deadlock victim or a lock wait timeout is rare (every writer locks the pay_order row first). On a Galera cluster
 * a conflict is normal: a transaction is certified at COMMIT against what other nodes committed meanwhile, and the
 * loser gets 1213 ("WSREP detected deadlock/conflict") where one server would have made it wait (two writers of
 * one order, two relays or statistics folds claiming the same rows). A retry re-runs the work against the winner's
 * result.
 */
const MAX_TRIES = 8;
/** A lock wait timeout has already waited innodb_lock_wait_timeout (5 s): fewer of those fit a caller's deadline. */
const MAX_LOCK_WAIT_TRIES = 3;

/** Whether a try that failed with err may be followed by another. */
const mayRetry = (err: unknown, attempt: number): boolean =>
  isRetryableTxError(err) && attempt < (errnoOf(err) === ER_LOCK_WAIT_TIMEOUT ? MAX_LOCK_WAIT_TRIES : MAX_TRIES);

/** A few milliseconds, growing and jittered: the winner's write set must be applied here before a retry can see it. */
const conflictPause = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** Math.min(attempt, 6)));

/**
 * Runs an autocommit statement (or a few, each safe to repeat) again when it loses a conflict, as runTx does for
 * a transaction: for the inserts that take no transaction (CreateOrder's INSERT, which can lose to an identical
 * CreateOrder certified first on another node).
 */
export async function retryConflicts<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!mayRetry(err, attempt)) throw err;
      await conflictPause(attempt);
    }
  }
}

/**
 * Runs fn in a transaction on one connection of the client's driver pool (BEGIN … COMMIT, ROLLBACK when fn throws),
 * retrying when it loses a conflict: MySQL picks it as a deadlock victim, a lock wait times out (innodb_lock_wait_timeout
 * bounds every wait, see createDb), or Galera fails its certification, at COMMIT or at any statement after another
 * node's write set aborted it. fn must therefore be safe to run again: it reads what it decides on inside the
 * transaction and keeps no state outside it. READ COMMITTED on request (for claims that must not lock gaps),
 * REPEATABLE READ otherwise.
 */
export async function runTx<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: { readCommitted?: boolean } = {}): Promise<T> {
  const pool = sqlPool(db);
  const gate = connectionGate(db);
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await conflictPause(attempt - 1);
    const conn = await connectionThroughGate(pool, gate);
    // Corked until fn's first wait: BEGIN and what fn sends before waiting (a read, writes sent at once) leave in one
    // socket write, not one each.
    const socket = socketOf(conn);
    socket?.cork();
    // Sent back to back (the driver pipelines them): one wait, not two. Awaited with the transaction's first statement.
    const began = opts.readCommitted
      ? Promise.all([conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED'), conn.query('BEGIN')])
      : conn.query('BEGIN');
    began.catch(() => undefined); // observed by the first statement or by settled() below
    const tx = new Tx(conn, began, pipelinesStatements(db));
    const changes: OrderChange[] = [];
    changesByTx.set(tx, changes);
    const encode = encoders.get(db);
    if (encode) encoderByTx.set(tx, encode);
    let result: T;
    try {
      try {
        let running: Promise<T>;
        try {
          running = fn(tx);
        } finally {
          socket?.uncork();
        }
        result = await running;
        await tx.settled(); // fn may have sent no statement
        await conn.query('COMMIT');
      } catch (err) {
        await tx.settled().catch(() => undefined); // a statement still to be sent goes before ROLLBACK, not after it
        await rollback(conn);
        if (!mayRetry(err, attempt)) throw err;
        continue;
      }
    } finally {
      await release(conn);
      gate?.leave();
    }
    // Outside the try: the transaction committed, whatever a listener does.
    if (changes.length > 0) announceOrderChanges(db, changes);
    return result;
  }
}

/**
 * One statement that opens and ends its own transaction inside the server (a stored procedure's CALL), on a pooled
 * connection of its own, through the gate. A procedure's error handler need not run for every error (the server skips
 * handlers for a fatal error and, by its rules, a kill; MariaDB 10.11 rolled back the killed CALLs we tried), so a
 * CALL that failed may have left its transaction open, its writes done and its locks held: the connection is rolled
 * back (closed if that fails) before it goes back to the pool, where the next caller's statements would otherwise
 * join that transaction. No retry here: the caller's.
 */
export async function callProcedure<T>(db: Db, sql: string, args: unknown[]): Promise<T> {
  const gate = connectionGate(db);
  const conn = await connectionThroughGate(sqlPool(db), gate);
  try {
    return await conn.execute<T>(sql, args);
  } catch (err) {
    await rollback(conn);
    throw err;
  } finally {
    await release(conn);
    gate?.leave();
  }
}

/** A connection for a transaction, after a permit of the gate (when the client has one); the caller leaves it. */
async function connectionThroughGate(pool: Pool, gate: ConnectionGate | undefined): Promise<PoolConnection> {
  const entered = gate?.enter();
  if (entered) await entered;
  try {
    return await pool.getConnection();
  } catch (err) {
    gate?.leave();
    throw err;
  }
}

/** A connection whose ROLLBACK failed is in an unknown state: it is closed, never handed to the next caller. */
async function rollback(conn: PoolConnection): Promise<void> {
  try {
    await conn.query('ROLLBACK');
  } catch {
    conn.destroy();
  }
}

async function release(conn: PoolConnection): Promise<void> {
  try {
    await conn.release();
  } catch {
    /* destroyed after a failed rollback */
  }
}
