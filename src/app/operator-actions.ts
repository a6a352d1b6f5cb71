import { DomainError, NotFoundError } from '../domain/errors';
import { recordOperatorAction } from '../repo/console-queries';
import type { Deps } from './deps';
import { replayEvent } from './order-events';
import { queryOrder } from './query-order';

/**
 * What an operator does from the console: the same use cases as the RPCs (ReplayEvent, Query with sync), as the
 * operator, and one operator_action row for each, whatever came of it (what the use case wrote carries the
 * operator too: the replay's delivery row, a transition the answer caused).
 */

export async function replayAsOperator(deps: Deps, tenantId: string, eventId: string, actor: string): Promise<void> {
  const audit = (payNo: string | null, outcome: string) =>
    recordOperatorAction(deps.db, { tenantId, actor, action: 'REPLAY_EVENT', payNo, target: eventId, outcome, at: deps.now() });
  try {
    const event = await replayEvent(deps, tenantId, eventId, { actor });
    await audit(event.payNo, `replayed; now ${event.status}`);
  } catch (err) {
    if (err instanceof DomainError) await audit(null, `refused: ${err.message}`);
    throw err;
  }
}

/**
 * "Query the channel now": Query with sync, as the operator; the order's status after it. A pay no the tenant has
 * no order under is recorded as the target only (pay_no NULL): no tenant's row joins another tenant's order.
 */
export async function syncAsOperator(deps: Deps, tenantId: string, payNo: string, actor: string): Promise<string> {
  const audit = (found: boolean, outcome: string) =>
    recordOperatorAction(deps.db, {
      tenantId,
      actor,
      action: 'QUERY_CHANNEL',
      payNo: found ? payNo : null,
      target: payNo,
      outcome,
      at: deps.now(),
    });
  try {
    const order = await queryOrder(deps, { tenantId, payNo }, true, { actor });
    await audit(true, `order is ${order.status}`);
    return order.status;
  } catch (err) {
    if (err instanceof DomainError) await audit(!(err instanceof NotFoundError), `failed: ${err.message}`);
    throw err;
  }
}
