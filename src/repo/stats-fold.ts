import { PAID_STATUSES } from '../domain/order-status';
import type { Db } from '../infra/db';
import { Prisma } from '../generated/prisma/client';
import { runTx } from './tx';

/**
 * Deltas per fold: one claim, two upserts and one delete for all of them. A batch of one tenant's busy minute
 * folds into a handful of rollup rows, so the upserts stay short whatever the batch size.
 */
export const FOLD_BATCH = 1000;

/** The facts a delta adds to the rollup, in the tables' column order. */
const FACTS = ['order_count', 'order_amount', 'refund_count', 'refunded_amount', 'fee_amount', 'net_amount', 'refunded_fee'] as const;
/** The quarter rollup's facts: the paid ones are the order facts of deltas in a paid status. */
const QUARTER_FACTS = ['order_count', 'order_amount', 'paid_count', 'paid_amount', ...FACTS.slice(2)] as const;

const PAID = PAID_STATUSES.map((s) => `'${s}'`).join(', ');
/** The quarter and the day a delta's creation time falls in (UTC DATETIMEs, so plain date arithmetic is exact). */
const QUARTER_OF = 'DATE(created_at) + INTERVAL (HOUR(created_at) * 60 + MINUTE(created_at) DIV 15 * 15) MINUTE';
const DAY_OF = 'DATE(created_at) + INTERVAL 0 MINUTE';
/** The sum of a quarter fact over the deltas. */
const quarterSum = (f: (typeof QUARTER_FACTS)[number]) =>
  f === 'paid_count'
    ? `SUM(IF(status IN (${PAID}), order_count, 0))`
    : f === 'paid_amount'
      ? `SUM(IF(status IN (${PAID}), order_amount, 0))`
      : `SUM(${f})`;

const increments = (columns: readonly string[]) => columns.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ');
/** A row whose facts sum to nothing (an order created and moved within one batch's cell) is not written. */
const someChange = (sums: readonly string[]) => sums.map((s) => `${s} <> 0`).join(' OR ');

/**
 * The claimed deltas, by id: a JSON array of them (one parameter) joined to the table by its primary key, one row
 * each (eq_ref). Not `id IN (…)`: on a table this small and this busy the optimizer scans it instead, and a scan
 * waits on every row another fold or an uncommitted writer holds (a test saw the delete time out).
 */
const CLAIMED = `JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$')) c STRAIGHT_JOIN order_stats_delta d ON d.id = c.id`;

/** Cells of both grains, summed by key; in key order, so two folds lock shared rows in one order. */
const CELLS_FROM = `
  INSERT INTO order_stats_cell (tenant_id, currency, grain, bucket, status, pay_way, ${FACTS.join(', ')})
  SELECT d.tenant_id, d.currency, g.grain, IF(g.grain = 'DAY', ${DAY_OF}, ${QUARTER_OF}) AS bucket, d.status, d.pay_way,
         ${FACTS.map((f) => `SUM(${f})`).join(', ')}
    FROM ${CLAIMED} JOIN (SELECT 'QUARTER' AS grain UNION ALL SELECT 'DAY') g
   GROUP BY d.tenant_id, d.currency, g.grain, bucket, d.status, d.pay_way
  HAVING ${someChange(FACTS.map((f) => `SUM(${f})`))}
   ORDER BY d.tenant_id, d.currency, g.grain, bucket, d.status, d.pay_way
  ON DUPLICATE KEY UPDATE ${increments(FACTS)}`;

const QUARTERS_FROM = `
  INSERT INTO order_stats_quarter (tenant_id, currency, bucket, ${QUARTER_FACTS.join(', ')})
  SELECT tenant_id, currency, ${QUARTER_OF} AS bucket, ${QUARTER_FACTS.map(quarterSum).join(', ')}
    FROM ${CLAIMED}
   GROUP BY tenant_id, currency, bucket
  HAVING ${someChange(QUARTER_FACTS.map(quarterSum))}
   ORDER BY tenant_id, currency, bucket
  ON DUPLICATE KEY UPDATE ${increments(QUARTER_FACTS)}`;

/**
 * Folds up to `limit` pending statistics deltas (oldest first) into order_stats_cell and order_stats_quarter, in one
 * READ COMMITTED transaction, and returns how many it folded. The deltas are claimed FOR UPDATE SKIP LOCKED, so
 * folds in several processes take disjoint batches and a delta whose writer has not committed yet waits for the
 * next fold; a claimed delta is summed into the rollup and deleted in the same transaction, so it is counted once,
 * and GetStatistics (which reads rollup and pending deltas in one statement) sees it in exactly one of the two.
 * The rollup rows are upserted in key order, a statement per table: the only locks on shared rows are held for
 * the length of this transaction, by this fold, never by a payment.
 *
 * The database sums the claimed rows (INSERT … SELECT … GROUP BY): the service reads only their ids. Reading every
 * delta and summing it here cost ~8 µs of service CPU per delta (one per CreateOrder, two per status change).
 */
export async function foldStatsDeltas(db: Db, limit = FOLD_BATCH, onlyTenant?: string): Promise<number> {
  return runTx(
    db,
    async (tx) => {
      const claimed = await tx.$queryRaw<{ id: bigint }[]>`
        SELECT id FROM order_stats_delta
         WHERE ${onlyTenant === undefined ? Prisma.sql`TRUE` : Prisma.sql`tenant_id = ${onlyTenant}`}
         ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (claimed.length === 0) return 0;
      const ids = [`[${claimed.map((d) => String(d.id)).join(',')}]`];
      await tx.connection.query(CELLS_FROM, ids);
      await tx.connection.query(QUARTERS_FROM, ids);
      await tx.connection.query(`DELETE d FROM ${CLAIMED}`, ids);
      return claimed.length;
    },
    { readCommitted: true },
  );
}

/**
 * Folds until no delta is pending (or only ones another fold holds), of one tenant or all: tests and benches (a
 * test folds only its own tenants, so another test's pending deltas stay pending).
 */
export async function foldAllStatsDeltas(db: Db, onlyTenant?: string): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await foldStatsDeltas(db, FOLD_BATCH, onlyTenant);
    total += n;
    if (n < FOLD_BATCH) return total;
  }
}
