import { isOpen } from '../domain/order-status';
import { findOrder, type PayOrder } from '../repo/pay-orders';
import { findDueOrders, type DueCursor, type OpenStatus } from '../repo/sweeps';
import { closeOrder } from './close-order';
import type { Deps } from './deps';
import { forEachLimited } from '../infra/for-each-limited';

export type ExpireResult = { kind: 'done'; status: string } | { kind: 'not-due'; dueAt: Date };

/**
 * An unpaid order whose time ran out: closed at its channels, asked once more, then closed locally with cause
 * TIMEOUT. If a channel reveals a payment, the order becomes paid instead. A channel that does not answer leaves
 * the order open (the job retries, then the sweeper): the channel expires the trade at the same moment, so a
 * late local close loses nothing, while closing under an unanswered trade could.
 */
export async function expireOrder(deps: Deps, tenantId: string, payNo: string): Promise<ExpireResult> {
  const order = await findOrder(deps.db, { tenantId, payNo });
  if (!order) return { kind: 'done', status: 'gone' };
  const result = await expireLoadedOrder(deps, order);
  if (result.kind === 'not-due' || !isOpen(order.status)) return result;
  const after = await findOrder(deps.db, { tenantId, payNo });
  return { kind: 'done', status: after?.status ?? 'gone' };
}

/**
 * expireOrder for a row already read (by a batch): the row may be stale, which is safe, because closeOrder reads
 * the attempts afresh and closes locally only by a compare-and-set under the order's row lock.
 */
async function expireLoadedOrder(deps: Deps, order: PayOrder): Promise<ExpireResult> {
  if (!isOpen(order.status)) return { kind: 'done', status: order.status };
  if (order.expireAt > deps.now()) return { kind: 'not-due', dueAt: order.expireAt };
  await closeOrder(
    deps,
    order,
    { cause: 'TIMEOUT', closeReason: 'EXPIRED', reason: `expired at ${order.expireAt.toISOString()}`, queryAfterClose: true },
    {},
  );
  return { kind: 'done', status: 'expired' };
}

/** Which due orders a batched expiry takes: expire_at in (after, upTo], never later than now. */
export interface DueRange {
  after?: Date;
  upTo: Date;
}

export interface ExpireBatchOptions {
  /** Orders read per query. */
  batch: number;
  /** Orders closed at once (each close may wait on its channel). */
  parallel: number;
  /** Stop after this long and hand back the cursor, so a long backlog runs as resumable steps. */
  budgetMs: number;
}

export interface ExpireBatchReport {
  /** Orders closed, or found paid or closed meanwhile. */
  done: number;
  failed: number;
  /** Where to go on; absent when the range is done. */
  cursor?: DueCursor;
}

/**
 * Expires every unpaid order due in `range` (and not after now), in batches read by the (status, expire_at)
 * index, `parallel` closes at a time. One order whose close fails (its channel does not answer) is logged and
 * counted, never stops the others; the caller decides on a retry, and the sweep takes whatever is left.
 */
export async function expireDueOrders(deps: Deps, range: DueRange, opts: ExpireBatchOptions, from?: DueCursor): Promise<ExpireBatchReport> {
  const started = Date.now();
  const upTo = new Date(Math.min(range.upTo.getTime(), deps.now().getTime()));
  const report: ExpireBatchReport = { done: 0, failed: 0 };
  let cursor = from;
  for (;;) {
    const orders = await findDueOrders(deps.db, { after: range.after, upTo }, opts.batch, cursor);
    if (orders.length === 0) return report;
    await forEachLimited(orders, opts.parallel, async (order) => {
      try {
        if ((await expireLoadedOrder(deps, order)).kind === 'done') report.done += 1;
      } catch (err) {
        report.failed += 1;
        deps.log.warn({ err, payNo: order.payNo }, 'could not expire the order; it is retried, then swept');
      }
    });
    const last = orders[orders.length - 1];
    cursor = { status: last.status as OpenStatus, expireAt: last.expireAt, id: last.id };
    if (Date.now() - started >= opts.budgetMs) return { ...report, cursor };
  }
}
