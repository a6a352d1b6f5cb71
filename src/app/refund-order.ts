import type { TransitionCause } from '../generated/prisma/enums';
import { ConflictingReplayError, FailedPreconditionError, NotFoundError } from '../domain/errors';
import { newRefundNo } from '../domain/ids';
import { REFUNDABLE_STATUSES, type OrderStatus } from '../domain/order-status';
import {
  findAttempt,
  findOrder,
  findOrderByPayNo,
  listAttempts,
  lockOrder,
  type OrderRef,
  type PayAttempt,
  type PayOrder,
} from '../repo/pay-orders';
import { duplicateRefundTotal, findRefund, insertRefund, reserveRefund, touchOrder, type Refund } from '../repo/refunds';
import { isUniqueViolation, runTx, type Tx } from '../repo/tx';
import { applyRefundStatus } from './apply-refund-status';
import { channelFor } from './channel-accounts';
import { refundRecord } from './channel-records';
import type { Deps, RequestContext } from './deps';
import { scheduleRefundSync } from './schedule-sync';
import { refundSnapshot } from './snapshots';
import { requireTenant } from './tenants';

export interface RefundCommand {
  ref: OrderRef;
  outRefundNo: string;
  amount: bigint;
  reason: string;
  /** The paid attempt to refund; the order's payment when absent (see attemptToRefund). */
  attemptNo?: string;
}

export interface RefundOutcome {
  refund: Refund;
  order: PayOrder;
  replayed: boolean;
}

/**
 * Refunds part or all of a paid order, or of one duplicate payment of it (an attempt paid after the order was
 * paid by another). The amount is reserved atomically before the channel is called, so concurrent refunds never
 * exceed what was paid (the order's balance, or the duplicate attempt's); (tenant, out_refund_no) makes the call
 * idempotent. A replay of a refund still pending sends it to the channel again (the channel dedupes on our refund
 * number), so a refund whose first call went unanswered is never stuck.
 */
export async function refundOrder(deps: Deps, cmd: RefundCommand, ctx: RequestContext): Promise<RefundOutcome> {
  await requireTenant(deps, cmd.ref.tenantId);
  const replay = await findReplay(deps, cmd);
  if (replay) return replay.refund.status === 'PENDING' ? sendToChannel(deps, replay.order, replay.refund, ctx, true) : replay;
  const order = await findOrder(deps.db, cmd.ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const { attempt, duplicate } = await attemptToRefund(deps, order, cmd);
  const { handler } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
  if (!handler.supportsRefund) {
    throw new FailedPreconditionError(`pay way ${attempt.payWay} does not support refunds`, {
      reason: 'REFUND_NOT_SUPPORTED',
      metadata: { payNo: order.payNo, payWay: attempt.payWay },
    });
  }

  let refund: Refund;
  try {
    refund = await runTx(deps.db, async (tx) => {
      if (duplicate) await reserveDuplicateRefund(tx, order.payNo, attempt.attemptNo, cmd.amount);
      else if (!(await reserveRefund(tx, order.payNo, cmd.amount, REFUNDABLE_STATUSES))) {
        throw await refusal(tx, order.payNo, cmd.amount);
      }
      return insertRefund(tx, {
        refundNo: newRefundNo(deps.now()),
        tenantId: order.tenantId,
        outRefundNo: cmd.outRefundNo,
        payNo: order.payNo,
        attemptNo: attempt.attemptNo,
        duplicate,
        amount: cmd.amount,
        currency: order.currency,
        reason: cmd.reason,
        requestedBy: ctx.actor ?? 'system:rpc',
      });
    });
  } catch (err) {
    // A concurrent call with the same out_refund_no won: it inserted first, or its reservation took the balance.
    if (isUniqueViolation(err) || err instanceof FailedPreconditionError) {
      const winner = await findReplay(deps, cmd);
      if (winner) return winner;
    }
    throw err;
  }
  return sendToChannel(deps, order, refund, ctx, false);
}

/**
 * The attempt a refund goes to: the one whose trade paid the order (the default), or the attempt the caller
 * named, which must be a paid attempt of this order; any paid attempt other than the order's payment is a
 * duplicate payment, refunded from its own payment and not from the order's balance.
 */
async function attemptToRefund(deps: Deps, order: PayOrder, cmd: RefundCommand): Promise<{ attempt: PayAttempt; duplicate: boolean }> {
  if (cmd.attemptNo === undefined) return { attempt: await orderPayment(deps, order, cmd.amount), duplicate: false };
  const named = await findAttempt(deps.db, cmd.attemptNo);
  if (!named || named.payNo !== order.payNo) {
    throw new NotFoundError(`attempt ${cmd.attemptNo} is not an attempt of order ${order.payNo}`, {
      reason: 'ATTEMPT_NOT_FOUND',
      metadata: { payNo: order.payNo, attemptNo: cmd.attemptNo },
    });
  }
  if (named.status !== 'SUCCESS') {
    throw new FailedPreconditionError(`attempt ${named.attemptNo} is ${named.status}, not paid, and cannot be refunded`, {
      reason: 'ATTEMPT_NOT_PAID',
      metadata: { payNo: order.payNo, attemptNo: named.attemptNo, status: named.status },
    });
  }
  const payment = await paymentAttempt(deps, order);
  if (named.attemptNo !== payment?.attemptNo) return { attempt: named, duplicate: true };
  return { attempt: await orderPayment(deps, order, cmd.amount), duplicate: false };
}

/** The order's own payment, refunded from the order's balance: the order must be in a refundable status. */
async function orderPayment(deps: Deps, order: PayOrder, amount: bigint): Promise<PayAttempt> {
  if (!REFUNDABLE_STATUSES.includes(order.status)) throw refusalFor(order, order.payNo, amount);
  const payment = await paymentAttempt(deps, order);
  if (!payment) {
    throw new FailedPreconditionError(`order ${order.payNo} has no successful payment attempt`, {
      reason: 'ORDER_NOT_PAID',
      metadata: { payNo: order.payNo, status: order.status },
    });
  }
  return payment;
}

/** The attempt whose trade paid the order (another attempt may have been paid too: a double payment). */
async function paymentAttempt(deps: Deps, order: PayOrder): Promise<PayAttempt | undefined> {
  const paid = await listAttempts(deps.db, order.payNo, ['SUCCESS']);
  return paid.find((a) => a.channelTradeNo === order.channelTradeNo) ?? paid[0];
}

/**
 * Reserves `amount` of a duplicate payment (the order's amount: a payment of another amount is never applied)
 * under the order's lock, against the attempt's refunds pending or done, so concurrent refunds of it never
 * exceed what it paid.
 */
async function reserveDuplicateRefund(tx: Tx, payNo: string, attemptNo: string, amount: bigint): Promise<void> {
  const order = await lockOrder(tx, payNo);
  const taken = await duplicateRefundTotal(tx, payNo, attemptNo, ['PENDING', 'SUCCESS']);
  const refundable = order.amount - taken;
  if (amount <= refundable) {
    // The reservation writes the order row, as reserveRefund does: on a Galera cluster the lock above holds on one
    // node only, and two reservations made on two nodes conflict at commit only through a row both wrote.
    await touchOrder(tx, payNo);
    return;
  }
  throw new FailedPreconditionError(`refund amount ${amount} exceeds what duplicate payment ${attemptNo} has left: ${refundable}`, {
    reason: 'REFUND_EXCEEDS_REFUNDABLE',
    metadata: { payNo, attemptNo, amount: String(amount), refundable: String(refundable) },
  });
}

/**
 * For status sync: sends a pending refund to its channel again and applies the answer. Sending, not just
 * asking, because a refund whose first send never left (a crash after the reservation, a network error) is
 * unknown to the channel, which reports it as pending forever; the channel dedupes on our refund number.
 */
export async function resendRefund(deps: Deps, refund: Refund): Promise<Refund> {
  const order = await findOrder(deps.db, { tenantId: refund.tenantId, payNo: refund.payNo });
  if (!order) throw new Error(`refund ${refund.refundNo} has no order`);
  return (await sendToChannel(deps, order, refund, {}, true, { scheduleFollowUp: false, cause: 'SYNC' })).refund;
}

/** Asks the channel to refund (again: it is idempotent on our refund number) and applies its answer. */
async function sendToChannel(
  deps: Deps,
  order: PayOrder,
  refund: Refund,
  ctx: RequestContext,
  replayed: boolean,
  { scheduleFollowUp = true, cause = 'RPC' }: { scheduleFollowUp?: boolean; cause?: TransitionCause } = {},
): Promise<RefundOutcome> {
  const attempt = await findAttempt(deps.db, refund.attemptNo);
  if (!attempt) throw new Error(`refund ${refund.refundNo} lost its attempt`);
  const { handler, call } = await channelFor(deps, order.tenantId, attempt.payWay, ctx);
  const snapshot = refundSnapshot(order, refund);
  const status = await handler.refund(snapshot, call);
  await applyRefundStatus(deps, refund, status, { cause, actor: ctx.actor, record: refundRecord('refund', snapshot, status) });
  const after = await findRefund(deps.db, refund.tenantId, refund.outRefundNo);
  const orderAfter = await findOrder(deps.db, { tenantId: order.tenantId, payNo: order.payNo });
  if (!after || !orderAfter) throw new Error(`refund ${refund.refundNo} vanished`);
  if (after.status === 'PENDING') {
    if (status.outcome === 'unknown') {
      deps.log.warn({ refundNo: refund.refundNo, reason: status.reason }, 'refund outcome unknown; stays pending, a replay resends it');
    }
    if (scheduleFollowUp) await scheduleRefundSync(deps, refund.refundNo);
  }
  return { refund: after, order: orderAfter, replayed };
}

async function findReplay(deps: Deps, cmd: RefundCommand): Promise<RefundOutcome | undefined> {
  const existing = await findRefund(deps.db, cmd.ref.tenantId, cmd.outRefundNo);
  if (!existing) return undefined;
  const order = await findOrder(deps.db, { tenantId: existing.tenantId, payNo: existing.payNo });
  if (!order) throw new Error(`refund ${existing.refundNo} has no order`);
  const differing = [
    ...('payNo' in cmd.ref
      ? cmd.ref.payNo === order.payNo
        ? []
        : ['pay_no']
      : cmd.ref.outOrderNo === order.outOrderNo
        ? []
        : ['out_order_no']),
    ...((cmd.attemptNo === undefined ? !existing.duplicate : cmd.attemptNo === existing.attemptNo) ? [] : ['attempt_no']),
    ...(existing.amount === cmd.amount ? [] : ['amount']),
    ...(existing.reason === cmd.reason ? [] : ['reason']),
  ];
  if (differing.length > 0)
    throw new ConflictingReplayError(`out_refund_no ${cmd.outRefundNo}`, differing, { refundNo: existing.refundNo });
  return { refund: existing, order, replayed: true };
}

/** Why a reservation was refused, from the order as it is now. */
async function refusal(tx: Tx, payNo: string, amount: bigint): Promise<Error> {
  return refusalFor(await findOrderByPayNo(tx, payNo), payNo, amount);
}

type Balance = { status: OrderStatus; amount: bigint; refundedAmount: bigint; refundPendingAmount: bigint };

/** Why `amount` cannot be refunded: the order is not paid, or (fully refunded included) the balance is short. */
function refusalFor(order: Balance | null, payNo: string, amount: bigint): FailedPreconditionError {
  const fullyRefunded = order?.status === 'REFUNDED';
  if (!order || (!fullyRefunded && !REFUNDABLE_STATUSES.includes(order.status))) {
    const status = order?.status ?? 'gone';
    return new FailedPreconditionError(`order ${payNo} is ${status} and cannot be refunded`, {
      reason: 'ORDER_NOT_PAID',
      metadata: { payNo, status },
    });
  }
  const refundable = fullyRefunded ? 0n : order.amount - order.refundedAmount - order.refundPendingAmount;
  const why = fullyRefunded ? `order ${payNo} is fully refunded: ` : '';
  return new FailedPreconditionError(`${why}refund amount ${amount} exceeds the refundable balance ${refundable}`, {
    reason: 'REFUND_EXCEEDS_REFUNDABLE',
    metadata: { payNo, status: order.status, amount: String(amount), refundable: String(refundable) },
  });
}
