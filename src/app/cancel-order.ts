import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import { isPaid } from '../domain/order-status';
import { findOrder, findOrderWithChildren, type OrderRef, type OrderWithChildren } from '../repo/pay-orders';
import { closeOrder } from './close-order';
import type { Deps, RequestContext } from './deps';
import { requireTenant } from './tenants';

/**
 * Closes an unpaid order: every open attempt at its channel first, then locally. A FAILED order is closed too,
 * so that no retry can reopen it. Cancelling a closed order succeeds and changes nothing. When a channel reveals the order was paid, the payment is applied and the
 * caller is told the order is paid (FAILED_PRECONDITION), exactly as for an order known to be paid.
 */
export async function cancelOrder(deps: Deps, ref: OrderRef, reason: string, ctx: RequestContext): Promise<OrderWithChildren> {
  await requireTenant(deps, ref.tenantId);
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const opts = { cause: 'RPC', actor: ctx.actor, closeReason: 'CANCELLED', reason: reason || 'cancelled', failedToo: true } as const;
  await closeOrder(deps, order, opts, ctx);
  const now = await findOrderWithChildren(deps.db, ref);
  if (!now) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  if (isPaid(now.status))
    throw new FailedPreconditionError(`order ${now.payNo} is paid (${now.status}) and cannot be cancelled`, {
      reason: 'ORDER_ALREADY_PAID',
      metadata: { payNo: now.payNo, status: now.status },
    });
  return now;
}
