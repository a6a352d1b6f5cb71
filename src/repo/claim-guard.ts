import type { Written } from './sql';
import type { Tx } from './tx';

/**
 * A claim's statements go out together (Tx.queryAtOnce, on MariaDB: Tx.sendsGuardedAtOnce): BEGIN, the order's
 * compare-and-set, its audit row, the new attempt (and a retry's event) in one socket write, answered together, then
 * COMMIT: two round trips, not five. Sending a write before the answers ahead of it is safe only if it cannot take
 * effect on its own. When InnoDB rolls a transaction back in the middle (a deadlock victim; Galera's certification
 * failure), the session is back in autocommit (MariaDB 10.11: `@@in_transaction` and `@@autocommit` read 0 and 1
 * right after the 1213) and the statements already on the wire behind the failed one each commit by themselves; and
 * when BEGIN itself fails, all of them would. So each is guarded in its own text:
 * - the compare-and-set applies only inside an open transaction (`@@in_transaction = 1`, evaluated when it runs,
 *   prepared or not; 0 for an autocommit statement);
 * - every INSERT writes its row only where the order already names this new attempt as its current one, which
 *   only the compare-and-set of this same transaction wrote (the attempt number is fresh), and only inside an open
 *   transaction. After a rollback the order no longer names it, so nothing behind is written.
 * The caller awaits every answer before COMMIT, and COMMITs only if all of them wrote their row. The claim runs at
 * READ COMMITTED: there an INSERT … SELECT reads the order row without a shared lock, so when the compare-and-set
 * times out waiting for another writer's lock (1205 rolls back only that statement), the INSERTs behind it find no
 * row at once instead of each waiting out the lock timeout again. To InnoDB an INSERT … SELECT is a bulk insert:
 * under innodb_autoinc_lock_mode = 1 it holds the table's AUTO-INC lock for the statement, so run MariaDB with 2
 * (interleaved; safe with row-based binlogs, MySQL 8's default; see the README's production notes).
 */
export interface ClaimGuard {
  payNo: string;
  /** The attempt the claim makes current (its compare-and-set writes current_attempt_no = attemptNo). */
  attemptNo: string;
}

/** The compare-and-set's condition under a claim, appended to its WHERE. */
export const IN_TRANSACTION = ' AND @@in_transaction = 1';

const guardedTexts = new Map<string, string>();

/**
 * A one-row `INSERT INTO t (…) VALUES (…)` as an INSERT … SELECT of the same values that yields its row only
 * under the claim; its parameters are the INSERT's, then the claim's pay_no and attempt number. Made once per text.
 */
export function underClaim(insert: string): string {
  let text = guardedTexts.get(insert);
  if (text === undefined) {
    const m = /^(\s*INSERT INTO [^()]+\([^()]+\))\s*VALUES\s*\((.*)\)\s*$/s.exec(insert);
    if (!m || /\bVALUES\b|\)\s*,\s*\(/i.test(m[2])) throw new Error(`not a one-row INSERT … VALUES: ${insert}`);
    text = `${m[1]} SELECT ${m[2]} FROM pay_order WHERE pay_no = ? AND current_attempt_no = ?${IN_TRANSACTION}`;
    guardedTexts.set(insert, text);
  }
  return text;
}

/**
 * A one-row INSERT in a transaction: as written, or, under a claim, guarded (underClaim) and sent at once. What it
 * wrote: under a claim that was lost, no row.
 */
export function insertRow(tx: Tx, insert: string, args: unknown[], claim?: ClaimGuard): Promise<Written> {
  return claim ? tx.queryAtOnce<Written>(underClaim(insert), [...args, claim.payNo, claim.attemptNo]) : tx.query<Written>(insert, args);
}

/**
 * Every promise's value, once all have settled: statements sent together are all answered before the transaction
 * goes on (a ROLLBACK or a retry never overtakes one still running). The first failure, in the given order, is
 * the one thrown.
 */
export async function allAnswered<T extends readonly unknown[]>(pending: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(pending);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
