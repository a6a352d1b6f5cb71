import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import type { Socket } from 'node:net';
import { createPool, type Pool, type PoolConfig, type PoolConnection } from 'mariadb';
import { PrismaClient } from '../generated/prisma/client';
import { ConnectionGate } from './connection-gate';
import { giveFastProperties } from './fast-properties';
import { keyPrepareCache } from './prepare-cache';
import { fixDriverPipelinedPrepare } from './mariadb-prepare-fix';
import { fixDriverSetupRejections } from './mariadb-setup-fix';
import { mysqlConnection } from './mysql-url';

export type Db = PrismaClient;

// Every process that opens the service's pools gets the driver fixes (see mariadb-setup-fix.ts and
// mariadb-prepare-fix.ts).
fixDriverSetupRejections();
fixDriverPipelinedPrepare();

// Every time stored here is UTC (Prisma stores DATETIMEs so, and every session's time_zone is +00:00), but the
// mariadb driver writes and reads a Date parameter or column in the process's own time zone: its `timezone`
// option only sets the session's. A process started with TZ=Asia/Shanghai stored created_at eight hours off, and
// the statistics fold put orders in the wrong day. So every process that opens these pools runs in UTC (Node
// applies an assignment to TZ at once); times are shown in a zone only where a caller asks for one.
process.env.TZ = 'UTC';

const pools = new WeakMap<Db, Pool>();
/** Each pool connection's socket, by its ConnectionInfo: one object per connection, the same through its wrappers. */
const sockets = new WeakMap<object, Socket>();
const gates = new WeakMap<Db, ConnectionGate>();
/** Clients whose pool does not pipeline (a Galera cluster's, see DbSession): runTx sends their statements one by one. */
const unpipelined = new WeakSet<Db>();

/** How long a statement waits for a row lock (the longest any payment transaction should hold one is milliseconds). */
const LOCK_WAIT_SECONDS = 5;
/** How long a statement waits for a pool connection by default (DATABASE_ACQUIRE_TIMEOUT_MS). */
export const ACQUIRE_TIMEOUT_MS = 3000;
/** The driver's 1 s is too short for a handshake on a loaded machine (the pool then fails every try until acquire). */
const CONNECT_TIMEOUT_MS = 2000;

/**
 * A Prisma 7 client over a mariadb driver pool that the service also uses directly: Prisma keeps the schema, the
 * types and the cold paths, while the hot statements run on the same connections without Prisma's per-query layer
 * (see sqlPool). Prisma ends the pool on $disconnect.
 */
export function createDb(databaseUrl: string, poolSize: number, acquireTimeoutMs = ACQUIRE_TIMEOUT_MS, session: DbSession = {}): Db {
  const config = dbPoolConfig(databaseUrl, poolSize, acquireTimeoutMs, session);
  const db = createDbOnPool(createPool(config), config);
  gates.set(db, new ConnectionGate(poolSize, acquireTimeoutMs));
  return db;
}

/** What the pool must know of the engine behind the URL. */
export interface DbSession {
  /**
   * A Galera cluster whose nodes take writes from different replicas (DATABASE_GALERA):
   * - every session sets wsrep_sync_wait = 3: a read, UPDATE or DELETE first waits until this node has applied what
   *   any node committed before it, so a call sees what the caller's previous call wrote through another node;
   * - the driver never pipelines a PREPARE with its EXECUTE. Galera aborts a transaction that loses to another
   *   node's write set and reports it on the session's next command: when that is a pipelined PREPARE, the EXECUTE
   *   behind it (statement id -1, "the last prepared") runs the connection's previous prepared statement instead,
   *   and mariadb 3.4.5 then throws inside its socket handler (an uncaught TypeError that ends the process).
   */
  galera?: boolean;
}

/** The driver settings of the service's pool (a tool that builds its own pool, e.g. a traced one, starts here). */
export function dbPoolConfig(
  databaseUrl: string,
  poolSize: number,
  acquireTimeoutMs = ACQUIRE_TIMEOUT_MS,
  session: DbSession = {},
): PoolConfig {
  const syncWait = session.galera ? ', wsrep_sync_wait = 3' : '';
  return {
    ...mysqlConnection(databaseUrl),
    connectionLimit: poolSize,
    // Fail fast when the database is gone: a statement waits at most this long for a pool connection (the
    // driver's default is 10 s, past any caller's deadline), then fails with 45028, which the transport answers
    // as UNAVAILABLE DATABASE_BUSY with RetryInfo. A new connection gets up to 2 s to open (refused at once
    // when the server is down, silent when its host is).
    acquireTimeout: acquireTimeoutMs,
    connectTimeout: Math.min(CONNECT_TIMEOUT_MS, acquireTimeoutMs),
    // BIGINT columns come back as bigint: money never passes through a float.
    bigIntAsNumber: false,
    insertIdAsNumber: false,
    // DATETIME(3) columns hold UTC (Prisma writes them so): the session's time zone is UTC too (the driver sets
    // time_zone), so raw statements read and write Dates in UTC, and NOW(3) and FROM_UNIXTIME agree with them.
    timezone: 'Z',
    ...(session.galera && { pipelining: false }),
    // A transaction waits at most this long for a row lock, then fails with 1205 (runTx retries it).
    initSql: `SET SESSION innodb_lock_wait_timeout = ${LOCK_WAIT_SECONDS}${syncWait}`,
  };
}

/** A Prisma client on a driver pool made with config (dbPoolConfig's); Prisma ends the pool on $disconnect. */
export function createDbOnPool(pool: Pool, config: Pick<PoolConfig, 'pipelining'>): Db {
  const adapter = new PrismaMariaDb(pool, {
    // The binary protocol costs Prisma a PREPARE, EXECUTE and CLOSE per query (it does not reuse the driver's
    // prepared-statement cache); the text protocol is one round trip (npm run bench shows the difference).
    useTextProtocol: true,
    disposeExternalPool: true,
  });
  const db = new PrismaClient({ adapter });
  pools.set(db, pool);
  // The pool hands its own connection objects to this event (not the promise wrappers runTx holds); the info object
  // is shared by both. Listened before the pool's first connection is up (it opens them in later turns).
  pool.on('connection', (conn) => {
    const own = conn as unknown as Parameters<typeof keyPrepareCache>[0] & { info: object | null; getSocket?: () => Socket | undefined };
    const socket = own.getSocket?.();
    if (own.info && socket) sockets.set(own.info, socket);
    // The driver copies these options for every statement that has its own (see fast-properties.ts).
    if (own.opts) giveFastProperties(own.opts);
    // Its prepared statements, found without hashing the whole text on every call (see prepare-cache.ts).
    keyPrepareCache(own);
  });
  if (config.pipelining === false) unpipelined.add(db);
  return db;
}

/**
 * Whether this client's connections pipeline: send a statement while the one before it is unanswered. Without
 * pipelining, mariadb 3.4.5 can leave a statement unsent for good when it is issued while two commands are queued
 * on the connection and its text is in the connection's prepared-statement cache (see Tx): runTx must then issue
 * one statement at a time.
 */
export function pipelinesStatements(db: Db): boolean {
  return !unpipelined.has(db);
}

/**
 * The socket under a pool connection, to cork: commands issued in one turn then leave in one write instead of a
 * write each (a socket write costs ~15–25 µs of kernel CPU on the bench machine, more than most statements' own
 * driver work). Undefined for a connection made before createDbOnPool listened; its commands go a write each.
 */
export function socketOf(conn: PoolConnection): Socket | undefined {
  return conn.info ? sockets.get(conn.info) : undefined;
}

/** The driver pool under this client, for statements on the hot paths (the same connections Prisma uses). */
export function sqlPool(db: Db): Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this Prisma client was not made by createDb, so it has no shared pool');
  return pool;
}

/**
 * The permits in front of the pool (connection-gate.ts) that the hot paths' statements and transactions pass;
 * undefined for a client made on a pool of its own (createDbOnPool), whose statements go to the pool directly.
 */
export function connectionGate(db: Db): ConnectionGate | undefined {
  return gates.get(db);
}

/**
 * Closes the client and its driver pool. Prisma ends the pool only if Prisma itself ever connected, and the hot
 * paths use the pool without Prisma, so a process that never ran a Prisma query would keep its connections open.
 */
export async function closeDb(db: Db): Promise<void> {
  await db.$disconnect();
  const pool = pools.get(db);
  if (pool && !pool.closed) await pool.end();
}
