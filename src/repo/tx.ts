import type { Prisma } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import type { OrderEvent } from './history';

/** A Prisma transaction client; repository functions take it so use cases decide the transaction's shape. */
export type Tx = Prisma.TransactionClient;
export type DbOrTx = Db | Tx;

/** True when a Prisma error is a unique-key violation (model API P2002, or MySQL 1062 from a raw query). */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; meta?: { code?: unknown; driverAdapterError?: { cause?: { kind?: unknown } } } };
  return (
    e.code === 'P2002' ||
    (e.code === 'P2010' && String(e.meta?.code) === '1062') ||
    e.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation'
  );
}

function isRetryableTxError(err: unknown): boolean {
  const e = err as { code?: unknown; meta?: { code?: unknown }; message?: unknown };
  return (
    e?.code === 'P2034' ||
    ['1213', '1205'].includes(String(e?.meta?.code)) ||
    (typeof e?.message === 'string' && /deadlock|lock wait timeout/i.test(e.message))
  );
}

/**
 * The database was busy rather than wrong: a lock wait or transaction timeout (P2028, MySQL 1205), no pool
 * connection in time (P2024), or a deadlock that outlived runTx's retries. The caller may retry the same request.
 */
export function isTransientDbError(err: unknown): boolean {
  const e = err as { code?: unknown };
  return isRetryableTxError(err) || e?.code === 'P2028' || e?.code === 'P2024';
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

/** The encoder of the client that runs this transaction (see runTx); loud when the composition root forgot it. */
export function eventEncoderOf(tx: Tx): EventEncoder {
  const encode = encoderByTx.get(tx);
  if (!encode) throw new Error('no event encoder for this database client: call encodeEventsWith(db, …) at start');
  return encode;
}

/** Called by transition(): the change is announced only if (and after) the transaction commits. */
export function noteOrderChange(tx: Tx, change: OrderChange): void {
  changesByTx.get(tx)?.push(change);
}

/** Who hears about committed order changes made through this client (WatchOrder's feed). */
export function onOrderChanges(db: Db, listener: (changes: OrderChange[]) => void): void {
  commitListeners.set(db, listener);
}

/**
 * Runs fn in an interactive transaction, retrying a few times when MySQL picks it as a deadlock victim.
 * Every writer locks the pay_order row first, so deadlocks are rare; this is the safety net.
 */
export async function runTx<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: { readCommitted?: boolean } = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const changes: OrderChange[] = [];
    let result: T;
    try {
      result = await db.$transaction(
        (tx) => {
          changesByTx.set(tx, changes);
          const encode = encoders.get(db);
          if (encode) encoderByTx.set(tx, encode);
          return fn(tx);
        },
        { maxWait: 5000, timeout: 15000, ...(opts.readCommitted ? { isolationLevel: 'ReadCommitted' as const } : {}) },
      );
    } catch (err) {
      if (attempt >= 3 || !isRetryableTxError(err)) throw err;
      continue;
    }
    // Outside the try: the transaction committed, whatever a listener does.
    if (changes.length > 0) {
      try {
        commitListeners.get(db)?.(changes);
      } catch {
        /* announcing is best effort; watchers also poll */
      }
    }
    return result;
  }
}
