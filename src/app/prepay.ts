import type { ChannelCall, PayOrderHandler, PrepayInput } from '../channels/types';
import { ConcurrencyError, ConflictingReplayError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../domain/errors';
import { newAttemptNo } from '../domain/ids';
import { isOpen, isPaid } from '../domain/order-status';
import { findOrderAndAttempts, type OrderRef, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { channelFor } from './channel-accounts';
import type { Deps, RequestContext } from './deps';
import { assertPayWayEnabled } from './list-pay-ways';
import type { Marker } from '../infra/markers';
import { inFlightMarker, isLive, openAttempt, replayOf, whileBeingOpened, type PrepayOutcome } from './open-attempt';
import { requireTenant } from './tenants';
import { claimOrder } from './transition';

export type { PrepayOutcome } from './open-attempt';

export const MAX_PAY_WAY_SWITCHES = 3;
/** How often a Prepay looks at the order again after a concurrent one changed it, before it answers ABORTED. */
const MAX_LOOKS = 4;

export interface PrepayCommand {
  ref: OrderRef;
  payWay: string;
  clientIp: string;
  payerId: string;
}

/** What one look at the order decided: the answer, or look again (after an attempt being opened, if named). */
type Step = { done: PrepayOutcome } | { again: true; waitFor?: PayAttempt };

/**
 * Opens a channel attempt for an order and returns what the buyer's client needs. The order's newest attempt is
 * its current one; an older attempt still CREATED or OPEN is superseded, and is closed at its channel before the
 * current one is sent to its own, so an order never has two attempts a buyer can pay.
 * - The current attempt has this pay way: replay its payload, or finish opening it (joining a concurrent Prepay).
 * - Otherwise: claim a new attempt (one transaction that compare-and-sets the order's version, counts a switch and
 *   inserts the attempt; a newer attempt is what supersedes the older), close the superseded one, call the channel.
 * A Prepay that loses the claim looks again: it joins the winner when that chose the same pay way, and otherwise
 * fails ABORTED, having closed nothing; it never overrides a switch it did not see.
 * A FAILED order is claimed the same way (a retry: FAILED → PAYING, a new attempt on any pay way, not counted as
 * a switch) while it has not expired and fewer than MAX_PAY_ATTEMPTS of its attempts failed; see assertPayable.
 */
export async function prepay(deps: Deps, cmd: PrepayCommand, ctx: RequestContext): Promise<PrepayOutcome> {
  const tenant = await requireTenant(deps, cmd.ref.tenantId);
  await assertPayWayEnabled(deps, tenant, cmd.payWay);
  const { handler, call } = await channelFor(deps, cmd.ref.tenantId, cmd.payWay, ctx);
  for (let look = 0; look < MAX_LOOKS; look++) {
    const step = await lookAtOrder(deps, cmd, handler, call, ctx, look === 0);
    if ('done' in step) return step.done;
    if (step.waitFor) await whileBeingOpened(deps, step.waitFor, ctx.signal);
  }
  throw new ConcurrencyError(`concurrent Prepays kept changing the order; query it, then retry`, { tenantId: cmd.ref.tenantId });
}

async function lookAtOrder(
  deps: Deps,
  cmd: PrepayCommand,
  handler: PayOrderHandler,
  call: ChannelCall,
  ctx: RequestContext,
  firstLook: boolean,
): Promise<Step> {
  const found = await findOrderAndAttempts(deps.db, cmd.ref);
  if (!found) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const { order, attempts } = found;
  assertRequiredInputs(handler, cmd, order);
  assertPayable(order, deps.now());
  const newest = attempts.at(-1);
  const current = newest && isLive(newest) ? newest : undefined;
  if (current?.payWay === cmd.payWay) {
    return join(
      deps,
      cmd,
      handler,
      call,
      ctx,
      order,
      current,
      attempts.filter((a) => isLive(a) && a !== current),
    );
  }

  const switching = order.status === 'PAYING' && order.payWay !== cmd.payWay;
  if (switching && !firstLook) {
    throw new ConcurrencyError(
      `order ${order.payNo} is now paying with ${order.payWay}, chosen by a concurrent Prepay; query it, then prepay again to switch`,
      { payNo: order.payNo, payWay: order.payWay },
    );
  }
  if (switching && order.payWaySwitches >= MAX_PAY_WAY_SWITCHES) {
    throw new FailedPreconditionError(`order ${order.payNo} has switched pay way ${MAX_PAY_WAY_SWITCHES} times already`, {
      reason: 'PAY_WAY_SWITCH_LIMIT',
      metadata: { payNo: order.payNo, limit: String(MAX_PAY_WAY_SWITCHES) },
    });
  }
  assertAttemptsLeft(order, attempts, deps.maxPayAttempts);
  // The marker goes up before the attempt is committed, so no concurrent Prepay can see it CREATED without one.
  const attemptNo = newAttemptNo(deps.now());
  const marker = await inFlightMarker(deps, attemptNo);
  if (marker === 'held') return { again: true }; // a fresh number: cannot happen, but never proceed unmarked
  let done: PrepayOutcome | undefined;
  try {
    const claimed = await claimAttempt(
      deps,
      order,
      cmd,
      handler,
      { switching, failedAttempts: failedCount(attempts) },
      attemptNo,
      ctx.actor,
    );
    // A concurrent Prepay claimed first: look again, to join it or give up. Nothing was closed or called.
    if (!claimed) return { again: true };
    const { order: paying, attempt } = claimed; // named, not spread: see insertOrder
    done = await openAttempt(deps, { order: paying, attempt, superseded: attempts.filter(isLive), handler, call, marker, ctx });
    return { done };
  } finally {
    await releaseUnlessOpen(marker, done);
  }
}

/** The current attempt has this pay way: replay it, or open it unless a concurrent Prepay is doing so. */
async function join(
  deps: Deps,
  cmd: PrepayCommand,
  handler: PayOrderHandler,
  call: ChannelCall,
  ctx: RequestContext,
  order: PayOrder,
  current: PayAttempt,
  superseded: PayAttempt[],
): Promise<Step> {
  if (current.payerId !== cmd.payerId) {
    // The stored payload (a JSAPI prepay_id) belongs to the first payer: never hand it to another.
    throw new ConflictingReplayError(`the open ${cmd.payWay} attempt of order ${order.payNo}`, ['payer_id'], { payNo: order.payNo });
  }
  if (current.status === 'OPEN') return { done: replayOf(order, current) };
  // CREATED: being opened by a concurrent Prepay (wait for it), or left so by one that ended (open it again: the
  // channel dedupes on out_trade_no).
  const marker = await inFlightMarker(deps, current.attemptNo);
  if (marker === 'held') return { again: true, waitFor: current };
  let done: PrepayOutcome | undefined;
  try {
    done = await openAttempt(deps, { order, attempt: current, superseded, handler, call, marker, ctx });
    return { done };
  } finally {
    await releaseUnlessOpen(marker, done);
  }
}

/**
 * An attempt's in-flight marker is read only while the attempt is CREATED (a joining Prepay, whileBeingOpened), and
 * an attempt never goes back to CREATED: once openAttempt has answered, the attempt is OPEN and its marker lapses by
 * its TTL (markerTtlMs, 11 s by default) rather than cost a Redis round trip of every Prepay. Released at once when
 * the attempt may still be CREATED (the channel did not answer, a close failed, the claim was lost), so a retry
 * opens it without waiting.
 */
async function releaseUnlessOpen(marker: Marker, done: PrepayOutcome | undefined): Promise<void> {
  if (done === undefined) await marker.release();
}

/** The wire names of the inputs, for the error. */
const INPUT_FIELDS: Readonly<Record<PrepayInput, string>> = { payerId: 'payer_id', clientIp: 'client_ip' };

/** What the pay way cannot do without is asked of its handler before anything is written. */
function assertRequiredInputs(handler: PayOrderHandler, cmd: PrepayCommand, order: PayOrder): void {
  const given: Record<PrepayInput, string> = { payerId: cmd.payerId, clientIp: cmd.clientIp || order.clientIp };
  const missing = handler.requiredInputs.find((input) => given[input] === '');
  if (missing) throw new InvalidArgumentError(INPUT_FIELDS[missing], `is required for ${cmd.payWay}`);
}

/** Open orders may be prepaid until they expire; a FAILED one too (a retry), within assertAttemptsLeft. */
function assertPayable(order: PayOrder, now: Date): void {
  const metadata = { payNo: order.payNo, status: order.status };
  if (order.status !== 'FAILED' && !isOpen(order.status)) {
    const reason = isPaid(order.status) ? 'ORDER_ALREADY_PAID' : 'ORDER_CLOSED';
    throw new FailedPreconditionError(`order ${order.payNo} is ${order.status}`, { reason, metadata });
  }
  if (order.expireAt <= now) {
    const expireAt = order.expireAt.toISOString();
    throw new FailedPreconditionError(`order ${order.payNo} expired at ${expireAt}`, {
      reason: 'ORDER_EXPIRED',
      metadata: { ...metadata, expireAt },
    });
  }
}

/**
 * A new attempt only while fewer than `maxAttempts` of the order's attempts failed: an attempt the channel failed
 * (the buyer's payment declined) or refused at prepay. Checked for every new attempt, whatever the order's status:
 * a retry the channel refused at prepay leaves the order PAYING with no payable attempt, and must not open the way
 * to unlimited attempts. Attempts a pay way switch superseded, or a close ended, are CLOSED and do not count;
 * switches have their own limit.
 */
function assertAttemptsLeft(order: PayOrder, attempts: readonly PayAttempt[], maxAttempts: number): void {
  const failed = failedCount(attempts);
  if (failed < maxAttempts) return;
  throw new FailedPreconditionError(`order ${order.payNo} failed ${failed} times, the most it may (MAX_PAY_ATTEMPTS)`, {
    reason: 'PAY_ATTEMPT_LIMIT',
    metadata: { payNo: order.payNo, status: order.status, limit: String(maxAttempts), failedAttempts: String(failed) },
  });
}

const failedCount = (attempts: readonly PayAttempt[]): number => attempts.filter((a) => a.status === 'FAILED').length;

/** What the claim changes besides the status: a pay way switch to count, or a retry of a FAILED order. */
interface ClaimKind {
  switching: boolean;
  /** The order's failed attempts, for the retry's audit row. */
  failedAttempts: number;
}

/**
 * The claim: the order becomes PAYING with this pay way (a compare-and-set on its version, so of concurrent
 * claims exactly one commits, and a switch is counted once) and the new attempt, now the newest, is inserted in
 * the same transaction (one statement: claimOrder), before any channel call. Undefined when a concurrent writer
 * changed the order first.
 */
async function claimAttempt(
  deps: Deps,
  order: PayOrder,
  cmd: PrepayCommand,
  handler: PayOrderHandler,
  { switching, failedAttempts }: ClaimKind,
  attemptNo: string,
  actor: string | undefined,
): Promise<{ attempt: PayAttempt; order: PayOrder } | undefined> {
  const retrying = order.status === 'FAILED';
  const s = failedAttempts === 1 ? '' : 's';
  const fresh = {
    attemptNo,
    payNo: order.payNo,
    tenantId: order.tenantId,
    payWay: cmd.payWay,
    channel: handler.channel,
    payerId: cmd.payerId,
    clientIp: cmd.clientIp,
  };
  return claimOrder(deps.db, order, fresh, {
    cause: 'RPC',
    actor,
    detail: retrying
      ? `retry ${cmd.payWay} after ${failedAttempts} failed attempt${s}`
      : switching
        ? `switch ${order.payWay} -> ${cmd.payWay}`
        : `prepay ${cmd.payWay}`,
    // A retry is payable again: no longer closed for a failed payment, and the order side hears of it.
    set: { payWay: cmd.payWay, payWaySwitches: order.payWaySwitches + (switching ? 1 : 0), ...(retrying && { closeReason: null }) },
    event: retrying ? 'PAYMENT_RETRIED' : undefined,
  });
}
