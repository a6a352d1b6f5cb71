import type { TradeStatus } from '../channels/types';
import { findAttempt, findOrder, stampAttemptAsked, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { findRefundByNo } from '../repo/refunds';
import { stampRefunds } from '../repo/sweeps';
import type { ChannelRecord } from '../domain/channel-record';
import { applyTradeStatus, type ApplyResult } from './apply-trade-status';
import { channelFor } from './channel-accounts';
import { queryRecord } from './channel-records';
import type { Deps, RequestContext } from './deps';
import { resendRefund } from './refund-order';
import { tradeSnapshot } from './snapshots';
import type { Attribution } from './transition';

export interface SyncOptions {
  /** Apply only a success (after a close: a failure then is the close, not the buyer's). Default: any final word. */
  applyOnly?: 'success';
}

/**
 * Asks the channel where one attempt's trade is and applies a final answer through applyTradeStatus, the one
 * path a channel's word takes to an order. Pending and unknown change nothing (`applied` is then absent).
 */
export async function syncAttempt(
  deps: Deps,
  order: PayOrder,
  attempt: PayAttempt,
  by: Attribution,
  ctx: RequestContext,
  opts: SyncOptions = {},
): Promise<{ status: TradeStatus; applied?: ApplyResult; record: ChannelRecord }> {
  const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
  const trade = tradeSnapshot(order, attempt);
  const status = await handler.query(trade, call);
  const record = queryRecord(trade, status);
  const final = opts.applyOnly === 'success' ? status.outcome === 'success' : status.outcome === 'success' || status.outcome === 'fail';
  if (!final) return { status, record };
  return { status, record, applied: await applyTradeStatus(deps, attempt, status, { ...by, record }) };
}

/** What one status-sync round learned, for its job: a summary, and whether the question is still open. */
export interface SyncRound {
  summary: string;
  askAgain: boolean;
}

/**
 * One status-sync round for an attempt, by its number. A closed attempt is still asked, even of a paid order:
 * the buyer may have paid it as we closed it (or paid a locally signed Alipay order string, which a close at
 * the channel cannot revoke), and a second payment must reach the order side as DUPLICATE_PAYMENT even if its
 * notify never does. An ask that learns nothing stamps the attempt (the sweeper reads that as "last asked").
 */
export async function syncAttemptByNo(deps: Deps, attemptNo: string): Promise<SyncRound> {
  const attempt = await findAttempt(deps.db, attemptNo);
  if (!attempt || attempt.status === 'SUCCESS') return { summary: 'attempt already settled', askAgain: false };
  const order = await findOrder(deps.db, { tenantId: attempt.tenantId, payNo: attempt.payNo });
  if (!order) return { summary: 'order is gone', askAgain: false };
  const { status, applied, record } = await syncAttempt(deps, order, attempt, { cause: 'SYNC' }, {});
  const kind = applied?.kind ?? 'unchanged';
  // A trade we closed is asked the whole schedule, not once: a payment made as (or after) it closed, whose notify
  // never comes, is found by a later round (found by the chaos run: the first round heard "closed" and stopped).
  const closedByUs = attempt.status === 'CLOSED' && status.outcome === 'fail' && status.closedUnpaid === true;
  const askAgain = kind === 'unchanged' && (status.outcome === 'pending' || status.outcome === 'unknown' || closedByUs);
  // The stamp keeps what the channel said too, so an attempt still open shows its last answer.
  if (askAgain) await stampAttemptAsked(deps.db, attempt.attemptNo, record);
  return { summary: `${status.outcome}: ${kind}`, askAgain };
}

/** One status-sync round for a pending refund: sent again (idempotent at the channel), which also tells where it is. */
export async function syncRefundByNo(deps: Deps, refundNo: string): Promise<SyncRound> {
  const refund = await findRefundByNo(deps.db, refundNo);
  if (!refund || refund.status !== 'PENDING') return { summary: `refund is ${refund?.status ?? 'gone'}`, askAgain: false };
  const after = await resendRefund(deps, refund);
  const askAgain = after.status === 'PENDING';
  if (askAgain) await stampRefunds(deps.db, [refund.refundNo]);
  return { summary: `refund is ${after.status}`, askAgain };
}
