import { isOpen } from '../domain/order-status';
import { findOrder } from '../repo/pay-orders';
import { closeOrder } from './close-order';
import type { Deps } from './deps';

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
  if (!isOpen(order.status)) return { kind: 'done', status: order.status };
  if (order.expireAt > deps.now()) return { kind: 'not-due', dueAt: order.expireAt };
  await closeOrder(
    deps,
    order,
    { cause: 'TIMEOUT', closeReason: 'EXPIRED', reason: `expired at ${order.expireAt.toISOString()}`, queryAfterClose: true },
    {},
  );
  const after = await findOrder(deps.db, { tenantId, payNo });
  return { kind: 'done', status: after?.status ?? 'gone' };
}
