import { isPaid, type OrderStatus } from '../domain/order-status';
import type { Db } from '../infra/db';
import { Prisma } from '../generated/prisma/client';
import { runTx } from './tx';

/**
 * Deltas per fold: one claim, three upserts and one delete for all of them. A batch of one tenant's busy minute
 * folds into a handful of rollup rows, so the upserts stay short whatever the batch size.
 */
export const FOLD_BATCH = 1000;

const QUARTER_MS = 900_000;
const DAY_MS = 86_400_000;

/** The facts a delta adds to the rollup, in the tables' column order. */
const FACTS = ['order_count', 'order_amount', 'refund_count', 'refunded_amount', 'fee_amount', 'net_amount', 'refunded_fee'] as const;
type Facts = bigint[];

interface DeltaRow {
  id: bigint;
  tenant_id: string;
  currency: string;
  created_at: Date;
  status: OrderStatus;
  pay_way: string;
  order_count: bigint;
  order_amount: bigint;
  refund_count: bigint;
  refunded_amount: bigint;
  fee_amount: bigint;
  net_amount: bigint;
  refunded_fee: bigint;
}

const floorTo = (t: Date, ms: number) => new Date(Math.floor(t.getTime() / ms) * ms);
const add = (into: Facts, from: Facts) => from.forEach((v, i) => (into[i] += v));

/** Sums rows into a map by key, keeping the key's columns once. */
class Sums<K extends unknown[]> {
  readonly rows = new Map<string, { key: K; facts: Facts }>();
  add(key: K, facts: Facts): void {
    const id = JSON.stringify(key);
    const row = this.rows.get(id);
    if (row) add(row.facts, facts);
    else this.rows.set(id, { key, facts: [...facts] });
  }
  /** In primary-key order (the key lists its columns in that order): two folds lock shared rows in one order. */
  sorted(): { key: K; facts: Facts }[] {
    const cmp = (a: unknown, b: unknown): number =>
      a instanceof Date && b instanceof Date ? a.getTime() - b.getTime() : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
    return [...this.rows.values()].sort((x, y) => {
      for (let i = 0; i < x.key.length; i++) {
        const c = cmp(x.key[i], y.key[i]);
        if (c !== 0) return c;
      }
      return 0;
    });
  }
}

/** A row whose facts sum to nothing (an order created and moved within one batch's cell) is not written. */
const changes = (row: { facts: Facts }) => row.facts.some((v) => v !== 0n);
const placeholders = (rows: number, columns: number) =>
  Array.from({ length: rows }, () => `(${Array(columns).fill('?').join(', ')})`).join(', ');
const increments = (columns: readonly string[]) => columns.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ');

/**
 * Folds up to `limit` pending statistics deltas (oldest first) into order_stats_cell and order_stats_quarter, in one
 * READ COMMITTED transaction, and returns how many it folded. The deltas are claimed FOR UPDATE SKIP LOCKED, so
 * folds in several processes take disjoint batches and a delta whose writer has not committed yet waits for the
 * next fold; a claimed delta is summed into the rollup and deleted in the same transaction, so it is counted once,
 * and GetStatistics (which reads rollup and pending deltas in one statement) sees it in exactly one of the two.
 * The rollup rows are upserted in key order, a statement per table: the only locks on shared rows are held for
 * the length of this transaction, by this fold, never by a payment.
 */
export async function foldStatsDeltas(db: Db, limit = FOLD_BATCH, onlyTenant?: string): Promise<number> {
  return runTx(
    db,
    async (tx) => {
      const deltas = await tx.$queryRaw<DeltaRow[]>`
        SELECT id, tenant_id, currency, created_at, status, pay_way, order_count, order_amount, refund_count, refunded_amount,
               fee_amount, net_amount, refunded_fee
          FROM order_stats_delta
         WHERE ${onlyTenant === undefined ? Prisma.sql`TRUE` : Prisma.sql`tenant_id = ${onlyTenant}`}
         ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
      if (deltas.length === 0) return 0;
      const cells = new Sums<[string, string, 'DAY' | 'QUARTER', Date, string, string]>();
      const quarters = new Sums<[string, string, Date]>();
      for (const d of deltas) {
        const facts = FACTS.map((f) => d[f]);
        const quarter = floorTo(d.created_at, QUARTER_MS);
        // The enum's order is the column's sort order, but the key's text order is as good for lock ordering:
        // what matters is that every fold uses the same one.
        cells.add([d.tenant_id, d.currency, 'QUARTER', quarter, d.status, d.pay_way], facts);
        cells.add([d.tenant_id, d.currency, 'DAY', floorTo(d.created_at, DAY_MS), d.status, d.pay_way], facts);
        const paid = isPaid(d.status);
        const [orders, amount, ...rest] = facts;
        quarters.add([d.tenant_id, d.currency, quarter], [orders, amount, paid ? orders : 0n, paid ? amount : 0n, ...rest]);
      }
      const cellRows = cells.sorted().filter(changes);
      if (cellRows.length > 0)
        await tx.connection.query(
          `INSERT INTO order_stats_cell (tenant_id, currency, grain, bucket, status, pay_way, ${FACTS.join(', ')})
         VALUES ${placeholders(cellRows.length, 6 + FACTS.length)}
         ON DUPLICATE KEY UPDATE ${increments(FACTS)}`,
          cellRows.flatMap((r) => [...r.key, ...r.facts]),
        );
      const quarterRows = quarters.sorted().filter(changes);
      const quarterFacts = ['order_count', 'order_amount', 'paid_count', 'paid_amount', ...FACTS.slice(2)];
      if (quarterRows.length > 0)
        await tx.connection.query(
          `INSERT INTO order_stats_quarter (tenant_id, currency, bucket, ${quarterFacts.join(', ')})
         VALUES ${placeholders(quarterRows.length, 3 + quarterFacts.length)}
         ON DUPLICATE KEY UPDATE ${increments(quarterFacts)}`,
          quarterRows.flatMap((r) => [...r.key, ...r.facts]),
        );
      await tx.connection.query(
        `DELETE FROM order_stats_delta WHERE id IN (${deltas.map(() => '?').join(', ')})`,
        deltas.map((d) => d.id),
      );
      return deltas.length;
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
