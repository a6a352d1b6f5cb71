import { addEvent } from '../../repo/history';
import { differenceKey, insertDifferences, knownDifferences, ordersByPayNo, type Difference, type RunKey } from '../../repo/reconciliation';
import type { Tx } from '../../repo/tx';

/**
 * Writes differences and, in the same transaction, a RECONCILIATION_DIFFERENCE event for each flagged one that
 * names an order, unless an earlier run of the day already told the order side of it: the order side hears of a
 * difference once. Applied differences need no event of their own (the transition wrote the usual ones); a fee
 * difference is finance's, reported only.
 */
export async function recordDifferences(tx: Tx, run: RunKey, diffs: readonly Difference[]): Promise<void> {
  await insertDifferences(tx, run, diffs);
  const told = diffs.filter((d) => d.resolution === 'FLAGGED' && d.payNo);
  if (told.length === 0) return;
  const known = await knownDifferences(tx, run, told);
  const orders = await ordersByPayNo(tx, [...new Set(told.map((d) => d.payNo as string))]);
  for (const d of told) {
    const key = differenceKey(d);
    const order = orders.get(d.payNo as string);
    if (known.has(key) || !order) continue;
    known.add(key);
    await addEvent(tx, 'RECONCILIATION_DIFFERENCE', order, undefined, {
      kind: d.kind,
      detail: d.detail,
      runId: run.id,
      channel: run.channel,
      day: run.day,
    });
  }
}
