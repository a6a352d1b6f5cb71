import type { ChannelCall, PayOrderHandler, PrepayPayload } from '../channels/types';
import { ChannelUnavailableError, ConcurrencyError, FailedPreconditionError } from '../domain/errors';
import { isPaid } from '../domain/order-status';
import type { Marker } from '../infra/markers';
import { casAttemptStatus, findAttempt, findOrderByPayNo, openIfCurrent, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { closeAttemptAtChannel } from './close-attempt';
import type { Deps, RequestContext } from './deps';
import { scheduleSync } from './schedule-sync';
import { tradeSnapshot } from './snapshots';
import { prepayRecord } from './channel-records';
import type { ChannelRecord } from '../domain/channel-record';

export interface PrepayOutcome {
  order: PayOrder;
  attemptNo: string;
  payload: PrepayPayload;
  replayed: boolean;
}

export interface OpenRequest {
  order: PayOrder;
  /** The order's current (newest) attempt, CREATED. */
  attempt: PayAttempt;
  /** Older attempts still CREATED or OPEN: closed at their channels before this one reaches its own. */
  superseded: PayAttempt[];
  handler: PayOrderHandler;
  call: ChannelCall;
  /** This Prepay's in-flight marker for `attempt`. */
  marker: Marker;
  ctx: RequestContext;
}

export const isLive = (a: PayAttempt): boolean => a.status === 'CREATED' || a.status === 'OPEN';

export const replayOf = (order: PayOrder, a: PayAttempt): PrepayOutcome => ({
  order,
  attemptNo: a.attemptNo,
  payload: a.payload as unknown as PrepayPayload,
  replayed: true,
});

/**
 * Sends the order's current attempt to its channel once every attempt it superseded is closed at theirs, so the
 * buyer can never pay two. A superseded attempt the channel reports paid makes the order paid, and the current
 * one is closed unsent; one the channel cannot close stays payable, and the current one stays unsent (CREATED)
 * until a retry of this Prepay closes the old one: never two payable, at worst the old one a little longer.
 */
export async function openAttempt(deps: Deps, r: OpenRequest): Promise<PrepayOutcome> {
  if (r.superseded.length > 0) {
    for (const old of r.superseded) await closeSuperseded(deps, r.order, old, r.attempt, r.ctx);
    await r.marker.extend(markerTtlMs(deps)); // the closes used some of its lifetime; the prepay gets all of it
  }
  return callChannel(deps, r);
}

async function closeSuperseded(deps: Deps, order: PayOrder, old: PayAttempt, current: PayAttempt, ctx: RequestContext): Promise<void> {
  // A Prepay still opening the old attempt would create its trade after our close: let it finish first.
  await whileBeingOpened(deps, old, ctx.signal);
  const now = await findAttempt(deps.db, old.attemptNo);
  if (!now || !isLive(now)) return; // closed meanwhile (by the Prepay that was opening it, or a status sync)
  const closed = await closeAttemptAtChannel(deps, order, now, { cause: 'RPC', actor: ctx.actor }, ctx);
  if (closed.outcome === 'unknown') {
    throw new ChannelUnavailableError(
      `could not close the ${old.payWay} attempt before opening ${current.payWay} (${closed.reason}); ` +
        `the ${old.payWay} one stays payable until a retry of this Prepay closes it`,
      { payNo: order.payNo, payWay: old.payWay },
    );
  }
  if (closed.outcome === 'paid') {
    if (!isPaid(closed.applied.order.status)) {
      throw new FailedPreconditionError(`${old.payWay} reports attempt ${old.attemptNo} paid, but its answer does not match the order`, {
        reason: 'ORDER_STATUS_CONFLICT',
        metadata: { payNo: order.payNo, attemptNo: old.attemptNo },
      });
    }
    await casAttemptStatus(deps.db, current.attemptNo, ['CREATED'], 'CLOSED'); // never sent, never payable
    throw new FailedPreconditionError(`order ${order.payNo} was already paid with ${old.payWay}`, {
      reason: 'ORDER_ALREADY_PAID',
      metadata: { payNo: order.payNo, payWay: old.payWay },
    });
  }
  // Still asked on the PSync schedule: if the buyer pays the old attempt too, that is a double payment to report.
  await scheduleSync(deps, old.attemptNo);
}

async function callChannel(deps: Deps, { handler, order, attempt, call, ctx }: OpenRequest): Promise<PrepayOutcome> {
  const trade = tradeSnapshot(order, attempt);
  const result = await handler.prepay(trade, call);
  const record = prepayRecord(trade, result);
  if (result.outcome !== 'success') {
    if (result.outcome === 'unknown') {
      // The attempt stays CREATED: a replay calls the channel again with the same out_trade_no, and status
      // queries find out whether the channel opened the trade (and whether the buyer paid) meanwhile.
      await scheduleSync(deps, attempt.attemptNo);
      throw new ChannelUnavailableError(`${handler.payWay} did not answer the prepay: ${result.reason}`, {
        payNo: order.payNo,
        payWay: handler.payWay,
      });
    }
    await casAttemptStatus(deps.db, attempt.attemptNo, ['CREATED'], 'FAILED', { record });
    throw new FailedPreconditionError(`${handler.payWay} refused the prepay: ${result.reason}`, {
      reason: 'CHANNEL_REFUSED',
      metadata: { payNo: order.payNo, payWay: handler.payWay },
    });
  }
  // Asked on PSync's schedule until a notify (or the timeout) settles it: the notify may never come. Scheduled
  // first, so the answer leaves as soon as the attempt is OPEN, ahead of any switch that comes after it.
  await scheduleSync(deps, attempt.attemptNo);
  const opened = await markOpen(deps, attempt, { payload: result.payload, channelTradeNo: result.channelTradeNo ?? null, record });
  if (opened === 'opened') return { order, attemptNo: attempt.attemptNo, payload: result.payload, replayed: false };
  // A concurrent Prepay of this same attempt opened it first (the channel dedupes on out_trade_no): replay it.
  if (opened !== 'gone') return replayOf(order, opened);
  // A switch superseded the attempt, a Cancel closed it, or an older attempt was paid, while the channel opened it:
  // close what the channel just opened rather than leave a trade open that nobody hands out.
  await closeUnwanted(deps, order, attempt, ctx);
  const now = await findOrderByPayNo(deps.db, order.payNo);
  if (now && isPaid(now.status)) {
    throw new FailedPreconditionError(`order ${order.payNo} was paid by another attempt while ${handler.payWay} opened this one`, {
      reason: 'ORDER_ALREADY_PAID',
      metadata: { payNo: order.payNo, status: now.status },
    });
  }
  throw new ConcurrencyError(`attempt ${attempt.attemptNo} was superseded or closed while ${handler.payWay} opened it; query the order`, {
    payNo: order.payNo,
  });
}

/**
 * OPEN only while the attempt is still its order's current one and the order PAYING (openIfCurrent: one UPDATE,
 * which waits for a claim of a newer attempt in flight): once a switch has committed, the attempt it superseded can
 * never become OPEN, nor can any once the order is paid. When it did not open, the attempt as it now is tells why:
 * opened by a concurrent Prepay of this same attempt (replay it), or superseded, closed or unwanted ('gone').
 */
export async function markOpen(
  deps: Deps,
  attempt: PayAttempt,
  set: { payload: object; channelTradeNo: string | null; record: ChannelRecord },
): Promise<'opened' | 'gone' | PayAttempt> {
  if (await openIfCurrent(deps.db, attempt, set)) return 'opened';
  const [now, order] = await Promise.all([findAttempt(deps.db, attempt.attemptNo), findOrderByPayNo(deps.db, attempt.payNo)]);
  return now?.status === 'OPEN' && order?.currentAttemptNo === now.attemptNo ? now : 'gone';
}

/** Closes a trade the channel opened for an attempt nobody hands out any more (a payment it had is applied). */
async function closeUnwanted(deps: Deps, order: PayOrder, attempt: PayAttempt, ctx: RequestContext): Promise<void> {
  await closeAttemptAtChannel(deps, order, attempt, { cause: 'RPC', actor: ctx.actor }, ctx);
}

/** A marker lives through one close of a superseded attempt and one prepay; it is extended before the prepay. */
const markerTtlMs = (deps: Deps): number => 2 * deps.channelTimeoutMs + 1000;
const POLL_MS = 50;

/**
 * "A Prepay is calling the channel for this attempt", under QUEUE_PREFIX. It lets concurrent Prepays of one
 * attempt wait for the one calling instead of calling too, and lets a switch close an attempt after, not
 * before, its trade is created. Correctness does not rest on it (see markOpen): without Redis, more calls.
 */
export function inFlightMarker(deps: Deps, attemptNo: string): Promise<Marker | 'held'> {
  return deps.markers.take(markerName(attemptNo), markerTtlMs(deps));
}

const markerName = (attemptNo: string): string => `prepay-inflight:${attemptNo}`;

/** Waits, at most one marker lifetime, while the attempt is still CREATED and another Prepay holds its marker. */
export async function whileBeingOpened(deps: Deps, attempt: PayAttempt, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + markerTtlMs(deps);
  for (;;) {
    if ((await findAttempt(deps.db, attempt.attemptNo))?.status !== 'CREATED') return;
    if (signal?.aborted || Date.now() >= until || !(await deps.markers.isHeld(markerName(attempt.attemptNo)))) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
