import type { Prisma } from '../generated/prisma/client';
import type { Db } from '../infra/db';

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
  return e?.code === 'P2034' || String(e?.meta?.code) === '1213' || /deadlock/i.test(String(e?.message ?? ''));
}

/**
 * Runs fn in an interactive transaction, retrying a few times when MySQL picks it as a deadlock victim.
 * Every writer locks the pay_order row first, so deadlocks are rare; this is the safety net.
 */
export async function runTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.$transaction(fn, { maxWait: 5000, timeout: 15000 });
    } catch (err) {
      if (attempt >= 3 || !isRetryableTxError(err)) throw err;
    }
  }
}
