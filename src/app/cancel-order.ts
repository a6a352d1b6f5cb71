import { ChannelUnavailableError, ConcurrencyError, FailedPreconditionError, NotFoundError } from '../domain/errors';
import { isPaid } from '../domain/order-status';
import {
  casAttemptStatus,
  findOrder,
  findOrderWithChildren,
  listAttempts,
  lockOrder,
  type OrderRef,
  type OrderWithChildren,
  type PayOrder,
} from '../repo/pay-orders';
import { runTx } from '../repo/tx';
import { applyTradeStatus } from './apply-trade-status';
import { channelFor } from './channel-accounts';
import { scheduleSync } from './schedule-sync';
import type { Deps, RequestContext } from './deps';
import { tradeSnapshot } from './snapshots';
import { transition } from './transition';

/**
 * Closes an unpaid order: every open attempt at its channel first, then locally. Cancelling a closed order
 * succeeds and changes nothing. When a channel reveals the order was paid, the payment is applied and the
 * caller is told the order is paid (FAILED_PRECONDITION), exactly as for an order known to be paid.
 */
export async function cancelOrder(deps: Deps, ref: OrderRef, reason: string, ctx: RequestContext): Promise<OrderWithChildren> {
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found');
  if (order.status === 'WAIT_PAY' || order.status === 'PAYING') {
    await closeAtChannels(deps, order, ctx);
    await closeLocally(deps, order.payNo, reason);
  }
  const now = await findOrderWithChildren(deps.db, ref);
  if (!now) throw new NotFoundError('order not found');
  if (isPaid(now.status)) throw new FailedPreconditionError(`order ${now.payNo} is paid (${now.status}) and cannot be cancelled`);
  return now;
}

async function closeAtChannels(deps: Deps, order: PayOrder, ctx: RequestContext): Promise<void> {
  for (const attempt of await listAttempts(deps.db, order.payNo, ['CREATED', 'OPEN'])) {
    const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
    const result = await handler.close(tradeSnapshot(order, attempt), call);
    if (result.outcome === 'unknown') {
      await scheduleSync(deps, attempt.attemptNo);
      throw new ChannelUnavailableError(`could not close the ${attempt.payWay} attempt: ${result.reason}; the order is unchanged`);
    }
    if (result.outcome === 'paid') {
      await applyTradeStatus(deps, attempt, result.status, { cause: 'RPC' });
      return;
    }
    await casAttemptStatus(deps.db, attempt.attemptNo, ['CREATED', 'OPEN'], 'CLOSED');
  }
}

async function closeLocally(deps: Deps, payNo: string, reason: string): Promise<void> {
  await runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, payNo);
    if (order.status !== 'WAIT_PAY' && order.status !== 'PAYING') return; // paid or closed meanwhile
    // An attempt opened by a Prepay racing this Cancel was never closed at its channel: do not close under it.
    const open = await listAttempts(tx, payNo, ['CREATED', 'OPEN']);
    if (open.length > 0) throw new ConcurrencyError(`order ${payNo} got a new pay attempt while cancelling; retry`);
    await transition(tx, order, 'CLOSED', { cause: 'RPC', detail: reason || 'cancelled', event: 'ORDER_CLOSED' });
  });
}
