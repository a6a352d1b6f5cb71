import { ChannelUnavailableError, NotFoundError } from '../domain/errors';
import { findOrderView, type OrderView } from '../repo/order-view';
import { findOrder, listAttempts, type OrderRef } from '../repo/pay-orders';
import { scheduleAutomaticRefund } from './schedule-sync';
import type { Deps, RequestContext } from './deps';
import { syncAttempt } from './sync-attempt';
import { requireTenant } from './tenants';

/**
 * Reads an order with its attempts, refunds and transitions (who changed it, and why). With sync, first asks
 * the channel about every attempt that could still turn into a payment and applies the answers through the
 * notify's transition path, as the caller's doing. The read itself is one statement (src/repo/order-view.ts).
 */
export async function queryOrder(deps: Deps, ref: OrderRef, sync: boolean, ctx: RequestContext): Promise<OrderView> {
  await requireTenant(deps, ref.tenantId);
  if (sync) await syncOrder(deps, ref, ctx);
  const order = await findOrderView(deps.db, ref); // one statement: the row, its attempts, refunds and transitions
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  return order;
}

async function syncOrder(deps: Deps, ref: OrderRef, ctx: RequestContext): Promise<void> {
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  if (order.status === 'PAID_AFTER_CLOSE' && deps.paidAfterClose === 'refund') {
    await scheduleAutomaticRefund(deps, order); // finishes a policy refund a crash or an outage interrupted
    return;
  }
  // Closed and failed attempts of a closed or failed order are asked too: the buyer may have paid as we gave up.
  const settled = order.status === 'CLOSED' || order.status === 'FAILED';
  const attempts = await listAttempts(deps.db, order.payNo, settled ? ['CREATED', 'OPEN', 'CLOSED', 'FAILED'] : ['CREATED', 'OPEN']);
  const unanswered: string[] = [];
  for (const attempt of attempts) {
    const { status } = await syncAttempt(deps, order, attempt, { cause: 'SYNC', actor: ctx.actor }, ctx);
    if (status.outcome === 'unknown') unanswered.push(`${attempt.payWay}: ${status.reason ?? status.channelStatus}`);
  }
  if (unanswered.length > 0) {
    throw new ChannelUnavailableError(`channel did not answer (${unanswered.join('; ')}); query without sync for the local status`, {
      payNo: order.payNo,
    });
  }
}
