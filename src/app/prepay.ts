import type { ChannelCall, PayOrderHandler, PrepayPayload } from '../channels/types';
import { ChannelUnavailableError, ConcurrencyError, ConflictingReplayError, FailedPreconditionError, NotFoundError } from '../domain/errors';
import { newAttemptNo } from '../domain/ids';
import { isOpen, isPaid } from '../domain/order-status';
import {
  casAttemptStatus,
  findAttempt,
  findOrder,
  insertAttempt,
  listAttempts,
  type OrderRef,
  type PayAttempt,
  type PayOrder,
} from '../repo/pay-orders';
import { runTx } from '../repo/tx';
import { applyTradeStatus } from './apply-trade-status';
import { channelFor } from './channel-accounts';
import { scheduleSync } from './schedule-sync';
import type { Deps, RequestContext } from './deps';
import { assertPayWayEnabled } from './list-pay-ways';
import { tradeSnapshot } from './snapshots';
import { requireTenant } from './tenants';
import { transition } from './transition';

export const MAX_PAY_WAY_SWITCHES = 3;

export interface PrepayCommand {
  ref: OrderRef;
  payWay: string;
  clientIp: string;
  payerId: string;
}

export interface PrepayOutcome {
  order: PayOrder;
  attemptNo: string;
  payload: PrepayPayload;
  replayed: boolean;
}

/**
 * Opens a channel attempt for an order and returns what the buyer's client needs. The attempt and the
 * PAYING status are committed before the channel is called; a replay with the same pay way returns the
 * stored payload; a new pay way closes the previous attempt at its channel first.
 */
export async function prepay(deps: Deps, cmd: PrepayCommand, ctx: RequestContext, rounds = 0): Promise<PrepayOutcome> {
  const tenant = await requireTenant(deps, cmd.ref.tenantId);
  await assertPayWayEnabled(deps, tenant, cmd.payWay);
  const { handler, call } = await channelFor(deps, cmd.ref.tenantId, cmd.payWay, ctx);
  const order = await findOrder(deps.db, cmd.ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  assertPayable(order, deps.now());

  const open = await listAttempts(deps.db, order.payNo, ['CREATED', 'OPEN']);
  const same = open.find((a) => a.payWay === cmd.payWay);
  if (same && same.payerId !== cmd.payerId) {
    // The stored payload (a JSAPI prepay_id) belongs to the first payer: never hand it to another.
    throw new ConflictingReplayError(`the open ${cmd.payWay} attempt of order ${order.payNo}`, ['payer_id'], { payNo: order.payNo });
  }
  if (same?.status === 'OPEN' && same.payload) {
    return { order, attemptNo: same.attemptNo, payload: same.payload as unknown as PrepayPayload, replayed: true };
  }
  if (same?.status === 'CREATED' && rounds < 2 && (await settledMeanwhile(deps, same, ctx.signal))) {
    // Another Prepay was calling the channel for this attempt and has finished: start over from what it left.
    return prepay(deps, cmd, ctx, rounds + 1);
  }
  const switching = order.status === 'PAYING' && order.payWay !== cmd.payWay;
  if (switching && order.payWaySwitches >= MAX_PAY_WAY_SWITCHES) {
    throw new FailedPreconditionError(`order ${order.payNo} has switched pay way ${MAX_PAY_WAY_SWITCHES} times already`, {
      reason: 'PAY_WAY_SWITCH_LIMIT',
      metadata: { payNo: order.payNo, limit: String(MAX_PAY_WAY_SWITCHES) },
    });
  }
  for (const previous of open.filter((a) => a.payWay !== cmd.payWay)) {
    await closePrevious(deps, order, previous, ctx);
  }
  // The in-flight marker goes up before a new attempt is committed, so no concurrent Prepay can see the attempt
  // CREATED without it; it comes down when the channel call ends.
  const attemptNo = same?.attemptNo ?? newAttemptNo(deps.now());
  const marker = inFlightKey(attemptNo);
  // NX: of two replays reusing an attempt left CREATED, one calls the channel and the other waits for it.
  // Redis down: proceed as without a marker.
  const owned = await deps.redis.set(marker, '1', 'PX', deps.channelTimeoutMs + 1000, 'NX').catch(() => 'OK');
  if (owned === null && same) {
    // (A new attempt's number is fresh, so only a reused one can be held.)
    if (rounds >= 2) throw new ConcurrencyError(`another Prepay of order ${order.payNo} is calling the channel; retry`, { payNo: order.payNo });
    await settledMeanwhile(deps, same, ctx.signal);
    return prepay(deps, cmd, ctx, rounds + 1);
  }
  try {
    const opened = same
      ? { attempt: same, order }
      : await openAttempt(deps, order, cmd, handler, switching, attemptNo).catch((err: unknown) => {
          if (err instanceof ConcurrencyError && rounds < 2) return undefined;
          throw err;
        });
    // A concurrent Prepay of this order committed its attempt first: go again, to replay or join that one.
    if (!opened) return await prepay(deps, cmd, ctx, rounds + 1);
    return await callChannel(deps, handler, opened.order, opened.attempt, call);
  } finally {
    await deps.redis.del(marker).catch(() => undefined);
  }
}

const inFlightKey = (attemptNo: string): string => `paysvc:prepay-inflight:${attemptNo}`;

/**
 * An attempt still CREATED may be one a concurrent Prepay (on any instance) is opening right now; calling the
 * channel for it too could end it (a channel may refuse the second call, and we would mark the attempt FAILED
 * under the first). While that Prepay's marker stands (at most one channel timeout), wait for the attempt to
 * leave CREATED; true if it did. Without a marker the call that left it CREATED has ended, and it is reused.
 */
async function settledMeanwhile(deps: Deps, attempt: PayAttempt, signal?: AbortSignal): Promise<boolean> {
  const marker = inFlightKey(attempt.attemptNo);
  while (!signal?.aborted && (await deps.redis.exists(marker).catch(() => 0)) === 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await findAttempt(deps.db, attempt.attemptNo);
    if (now?.status !== 'CREATED') return true;
  }
  return false;
}

function assertPayable(order: PayOrder, now: Date): void {
  const metadata = { payNo: order.payNo, status: order.status };
  if (!isOpen(order.status)) {
    const reason = isPaid(order.status) ? 'ORDER_ALREADY_PAID' : 'ORDER_CLOSED';
    throw new FailedPreconditionError(`order ${order.payNo} is ${order.status}`, { reason, metadata });
  }
  if (order.expireAt <= now) {
    const expireAt = order.expireAt.toISOString();
    throw new FailedPreconditionError(`order ${order.payNo} expired at ${expireAt}`, { reason: 'ORDER_EXPIRED', metadata: { ...metadata, expireAt } });
  }
}

async function closePrevious(deps: Deps, order: PayOrder, previous: PayAttempt, ctx: RequestContext): Promise<void> {
  const { handler, call } = await channelFor(deps, order.tenantId, previous.payWay, ctx);
  const result = await handler.close(tradeSnapshot(order, previous), call);
  if (result.outcome === 'unknown') {
    await scheduleSync(deps, previous.attemptNo);
    throw new ChannelUnavailableError(`could not close the ${previous.payWay} attempt: ${result.reason}`, {
      payNo: order.payNo,
      payWay: previous.payWay,
    });
  }
  if (result.outcome === 'paid') {
    await applyTradeStatus(deps, previous, result.status, { cause: 'RPC' });
    throw new FailedPreconditionError(`order ${order.payNo} was already paid with ${previous.payWay}`, {
      reason: 'ORDER_ALREADY_PAID',
      metadata: { payNo: order.payNo, payWay: previous.payWay },
    });
  }
  await casAttemptStatus(deps.db, previous.attemptNo, ['CREATED', 'OPEN'], 'CLOSED');
  // Still asked on the PSync schedule: if the buyer pays the old attempt too, that is a double payment to report.
  await scheduleSync(deps, previous.attemptNo);
}

/** Commits the new attempt and the order's PAYING status in one transaction, before any channel call. */
async function openAttempt(
  deps: Deps,
  order: PayOrder,
  cmd: PrepayCommand,
  handler: PayOrderHandler,
  switching: boolean,
  attemptNo: string,
): Promise<{ attempt: PayAttempt; order: PayOrder }> {
  return runTx(deps.db, async (tx) => {
    const paying = await transition(tx, order, 'PAYING', {
      cause: 'RPC',
      detail: switching ? `switch ${order.payWay} -> ${cmd.payWay}` : `prepay ${cmd.payWay}`,
      set: { payWay: cmd.payWay, payWaySwitches: order.payWaySwitches + (switching ? 1 : 0) },
      checkVersion: true,
    });
    const attempt = await insertAttempt(tx, {
      attemptNo,
      payNo: order.payNo,
      tenantId: order.tenantId,
      payWay: cmd.payWay,
      channel: handler.channel,
      payerId: cmd.payerId,
      clientIp: cmd.clientIp,
    });
    return { attempt, order: paying };
  });
}

async function callChannel(
  deps: Deps,
  handler: PayOrderHandler,
  order: PayOrder,
  attempt: PayAttempt,
  call: ChannelCall,
): Promise<PrepayOutcome> {
  const result = await handler.prepay(tradeSnapshot(order, attempt), call);
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
    await casAttemptStatus(deps.db, attempt.attemptNo, ['CREATED'], 'FAILED');
    throw new FailedPreconditionError(`${handler.payWay} refused the prepay: ${result.reason}`, {
      reason: 'CHANNEL_REFUSED',
      metadata: { payNo: order.payNo, payWay: handler.payWay },
    });
  }
  const opened = await casAttemptStatus(deps.db, attempt.attemptNo, ['CREATED'], 'OPEN', {
    payload: result.payload as object,
    channelTradeNo: result.channelTradeNo ?? null,
  });
  if (!opened) {
    const now = await findAttempt(deps.db, attempt.attemptNo);
    // A concurrent Prepay of the same attempt opened it first (the channel dedupes on out_trade_no): replay it.
    if (now?.status === 'OPEN' && now.payload) {
      return { order, attemptNo: now.attemptNo, payload: now.payload as unknown as PrepayPayload, replayed: true };
    }
    // A Cancel (or a switch) closed this attempt while the channel was opening it: close what the channel
    // just opened rather than hand out a payable link for a closed attempt.
    await handler.close(tradeSnapshot(order, attempt), call).catch(() => undefined);
    throw new ConcurrencyError(`attempt ${attempt.attemptNo} was closed while the channel opened it; query the order`, { payNo: order.payNo });
  }
  // Asked on PSync's schedule until a notify (or the timeout) settles it: the notify may never come.
  await scheduleSync(deps, attempt.attemptNo);
  return { order, attemptNo: attempt.attemptNo, payload: result.payload, replayed: false };
}
