import { ChannelUnavailableError, NotFoundError } from '../domain/errors';
import { findOrder, findOrderWithChildren, listAttempts, type OrderRef, type OrderWithChildren } from '../repo/pay-orders';
import { applyTradeStatus } from './apply-trade-status';
import { channelFor } from './channel-accounts';
import type { Deps, RequestContext } from './deps';
import { tradeSnapshot } from './snapshots';

/**
 * Reads an order with its attempts and refunds. With sync, first asks the channel about every attempt that
 * could still turn into a payment and applies the answers through the notify's transition path.
 */
export async function queryOrder(deps: Deps, ref: OrderRef, sync: boolean, ctx: RequestContext): Promise<OrderWithChildren> {
  if (sync) await syncOrder(deps, ref, ctx);
  const order = await findOrderWithChildren(deps.db, ref);
  if (!order) throw new NotFoundError('order not found');
  return order;
}

async function syncOrder(deps: Deps, ref: OrderRef, ctx: RequestContext): Promise<void> {
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found');
  // A closed attempt is asked too: the buyer may have paid as we closed it.
  const attempts = await listAttempts(deps.db, order.payNo, order.status === 'CLOSED' ? ['CREATED', 'OPEN', 'CLOSED'] : ['CREATED', 'OPEN']);
  const unanswered: string[] = [];
  for (const attempt of attempts) {
    const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
    const status = await handler.query(tradeSnapshot(order, attempt), call);
    if (status.outcome === 'unknown') unanswered.push(`${attempt.payWay}: ${status.reason ?? status.channelStatus}`);
    else await applyTradeStatus(deps, attempt, status, { cause: 'SYNC' });
  }
  if (unanswered.length > 0) {
    throw new ChannelUnavailableError(`channel did not answer (${unanswered.join('; ')}); query without sync for the local status`);
  }
}
