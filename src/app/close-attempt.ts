import { casAttemptStatus, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { applyTradeStatus, type ApplyResult } from './apply-trade-status';
import { channelFor } from './channel-accounts';
import { closeRecord, queryRecord } from './channel-records';
import type { Deps, RequestContext } from './deps';
import { scheduleSync } from './schedule-sync';
import { tradeSnapshot } from './snapshots';
import type { Attribution } from './transition';

export type AttemptClose =
  /** The channel closed the trade unpaid; the attempt is marked CLOSED if it still was in one of `from`. */
  | { outcome: 'closed'; marked: boolean }
  /** The channel had it paid: the payment is applied (see `applied`), and the attempt stays as the payment left it. */
  | { outcome: 'paid'; applied: ApplyResult }
  /** No answer: the trade may still be payable. A status query is scheduled; the caller says what that means for it. */
  | { outcome: 'unknown'; reason: string };

/**
 * Closes one attempt's trade at its channel: the one way the core closes a trade, whether a Cancel or the timeout
 * closes the order, or a Prepay supersedes the attempt. A payment the close reveals is applied, never lost; an
 * unanswered close schedules a status query. `from`: the statuses the attempt may be marked CLOSED from.
 */
export async function closeAttemptAtChannel(
  deps: Deps,
  order: PayOrder,
  attempt: PayAttempt,
  by: Attribution,
  ctx: RequestContext,
  from: PayAttempt['status'][] = ['CREATED', 'OPEN'],
): Promise<AttemptClose> {
  const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
  const trade = tradeSnapshot(order, attempt);
  const result = await handler.close(trade, call);
  if (result.outcome === 'unknown') {
    await scheduleSync(deps, attempt.attemptNo);
    return { outcome: 'unknown', reason: result.reason };
  }
  if (result.outcome === 'paid') {
    // Refused as paid, and the query that confirmed it is what the payment is recorded from.
    return {
      outcome: 'paid',
      applied: await applyTradeStatus(deps, attempt, result.status, { ...by, record: queryRecord(trade, result.status) }),
    };
  }
  const record = closeRecord(trade, result);
  return { outcome: 'closed', marked: await casAttemptStatus(deps.db, attempt.attemptNo, from, 'CLOSED', { record }) };
}
