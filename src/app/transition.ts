import type { TransitionCause } from '../generated/prisma/enums';
import { ConcurrencyError, FailedPreconditionError } from '../domain/errors';
import { canTransition, type OrderStatus } from '../domain/order-status';
import type { Db } from '../infra/db';
import { claimAttempt } from '../repo/claim';
import { addEvent, newEvent, recordTransition, type EventType } from '../repo/history';
import {
  casOrderStatus,
  casOrderVersion,
  newAttemptRow,
  type CreatedOrder,
  type NewAttempt,
  type PayAttempt,
  type PayOrder,
  type Refund,
  type StatusChange,
} from '../repo/pay-orders';
import { announceOrderChanges, eventEncoderOf, noteOrderChange, retryConflicts, type Tx } from '../repo/tx';

/** Who caused a change: what kind of thing, and who (see RequestContext.actor); by default the cause's system actor. */
export interface Attribution {
  cause: TransitionCause;
  actor?: string;
}

/** The actor of a change nobody in particular asked for. */
export const SYSTEM_ACTORS: Readonly<Record<TransitionCause, string>> = {
  RPC: 'system:rpc', // not written in practice: every RPC carries its caller's name
  NOTIFY: 'channel:notify',
  TIMEOUT: 'system:timeout',
  SYNC: 'system:sync',
  RECONCILE: 'system:reconcile',
};

export const actorOf = (by: Attribution): string => by.actor ?? SYSTEM_ACTORS[by.cause];

export interface TransitionOptions extends Attribution {
  detail: string;
  set?: StatusChange['set'];
  /** The event for the order side, if the change is one it cares about. */
  event?: EventType;
  refund?: Refund;
  /** Also compare the version, not just the status (for writers that must see no interleaving change). */
  checkVersion?: boolean;
}

/**
 * The one way an order's status changes (with claimOrder, Prepay's claim, which does the same in one statement):
 * checks the pure table, compare-and-sets the prior status, and writes the audit row and the outbox event in the
 * caller's transaction. Returns the order as it now is.
 */
export async function transition<O extends CreatedOrder>(tx: Tx, order: O, to: OrderStatus, opts: TransitionOptions): Promise<O> {
  assertCanTransition(order, to);
  const change = { payNo: order.payNo, from: order.status, to, set: opts.set, version: opts.checkVersion ? order.version : undefined };
  const next: O = { ...order, ...opts.set, status: to, version: order.version + 1n, updatedAt: new Date() };
  if (!(await casOrderStatus(tx, change))) {
    throw new ConcurrencyError(`order ${order.payNo} was changed concurrently; retry`, { payNo: order.payNo });
  }
  await recordTransition(tx, { payNo: order.payNo, from: order.status, to, cause: opts.cause, actor: actorOf(opts), detail: opts.detail });
  if (opts.event) await addEvent(tx, opts.event, next, opts.refund);
  noteOrderChange(tx, { payNo: next.payNo, status: to, version: next.version });
  return next;
}

function assertCanTransition(order: CreatedOrder, to: OrderStatus): void {
  if (canTransition(order.status, to)) return;
  throw new FailedPreconditionError(`order ${order.payNo} is ${order.status} and cannot become ${to}`, {
    reason: 'ORDER_STATUS_CONFLICT',
    metadata: { payNo: order.payNo, status: order.status, to },
  });
}

export interface ClaimOptions extends Attribution {
  detail: string;
  /** What the claim sets besides the status and the current attempt; a retry also clears the close reason. */
  set: { payWay: string; payWaySwitches: number; closeReason?: null };
  /** A retry's PAYMENT_RETRIED, for the order side. */
  event?: EventType;
}

/**
 * A Prepay's claim: the order becomes PAYING with `attempt` as its current (newest) attempt, compare-and-set on its
 * version, with the audit row and the event as transition() writes them, and the attempt inserted, all in one
 * statement (claimAttempt) and announced once committed; tried again when it loses a conflict (a deadlock, a lock
 * wait timeout, Galera's certification), as runTx would. Undefined when a concurrent writer changed the order first:
 * then nothing was written.
 */
export async function claimOrder<O extends CreatedOrder>(
  db: Db,
  order: O,
  attempt: NewAttempt,
  opts: ClaimOptions,
): Promise<{ order: O; attempt: PayAttempt } | undefined> {
  assertCanTransition(order, 'PAYING');
  if (attempt.payNo !== order.payNo || attempt.tenantId !== order.tenantId) throw new Error('a claim inserts an attempt of its own order');
  const set = { ...opts.set, currentAttemptNo: attempt.attemptNo };
  // Each try is made anew, as runTx's would be: its times are the try's own.
  const claimed = await retryConflicts(async () => {
    const now = new Date();
    const next: O = { ...order, ...set, status: 'PAYING', version: order.version + 1n, updatedAt: now };
    const event = opts.event && newEvent(eventEncoderOf(db), opts.event, next, undefined, undefined, now);
    const id = await claimAttempt(db, {
      payNo: order.payNo,
      from: order.status,
      version: order.version,
      payWay: set.payWay,
      payWaySwitches: set.payWaySwitches,
      clearCloseReason: set.closeReason === null,
      attempt,
      audit: { cause: opts.cause, actor: actorOf(opts), detail: opts.detail },
      event: event && { id: event.event.id, type: event.event.type, topic: next.notifyTopic, payload: event.payload },
      now,
    });
    return id === null ? undefined : { next, id, now };
  });
  if (!claimed) return undefined;
  const { next, id, now } = claimed;
  announceOrderChanges(db, [{ payNo: next.payNo, status: next.status, version: next.version }]);
  const row = newAttemptRow(attempt, now);
  row.id = id;
  return { order: next, attempt: row };
}

export interface AmendOptions {
  set?: { refundPendingAmount: bigint };
  event: EventType;
  refund?: Refund;
  /** What the event tells of the order beyond its stored fields (a second payment's pay way, time, trade no). */
  eventShows?: Partial<Pick<PayOrder, 'payWay' | 'paidAt' | 'channelTradeNo'>>;
}

/**
 * The other door: a change the order side must hear of that moves no status (a failed refund releases its
 * reservation; a paid order is paid a second time). Compare-and-sets the version of the locked order, bumps it,
 * and writes the outbox event in the caller's transaction, as transition() does. Returns the order as it now is.
 */
export async function amendOrder(tx: Tx, order: PayOrder, opts: AmendOptions): Promise<PayOrder> {
  if (!(await casOrderVersion(tx, order.payNo, order.version, opts.set))) {
    throw new ConcurrencyError(`order ${order.payNo} was changed concurrently; retry`, { payNo: order.payNo });
  }
  const next: PayOrder = { ...order, ...opts.set, version: order.version + 1n, updatedAt: new Date() };
  await addEvent(tx, opts.event, { ...next, ...opts.eventShows }, opts.refund);
  noteOrderChange(tx, { payNo: next.payNo, status: next.status, version: next.version });
  return next;
}
