import type { TransitionCause } from '../generated/prisma/enums';
import { ConcurrencyError, FailedPreconditionError } from '../domain/errors';
import { canTransition, type OrderStatus } from '../domain/order-status';
import { addEvent, recordTransition, type EventType } from '../repo/history';
import { casOrderStatus, casOrderVersion, type CreatedOrder, type PayOrder, type Refund, type StatusChange } from '../repo/pay-orders';
import { allAnswered, type ClaimGuard } from '../repo/claim-guard';
import { noteOrderChange, type Tx } from '../repo/tx';

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
  /**
   * The change claims the order for a new attempt (its `set` makes the attempt current, and the version is compared):
   * the compare-and-set, the audit row and the event are sent at once, guarded by the claim (claim-guard.ts), and
   * answered together.
   */
  claim?: ClaimGuard;
}

/**
 * The one way an order's status changes: checks the pure table, compare-and-sets the prior status, and writes
 * the audit row and the outbox event in the caller's transaction. Returns the order as it now is.
 */
export async function transition<O extends CreatedOrder>(tx: Tx, order: O, to: OrderStatus, opts: TransitionOptions): Promise<O> {
  if (!canTransition(order.status, to)) {
    throw new FailedPreconditionError(`order ${order.payNo} is ${order.status} and cannot become ${to}`, {
      reason: 'ORDER_STATUS_CONFLICT',
      metadata: { payNo: order.payNo, status: order.status, to },
    });
  }
  const change = {
    payNo: order.payNo,
    from: order.status,
    to,
    set: opts.set,
    version: opts.checkVersion || opts.claim ? order.version : undefined,
  };
  const next: O = { ...order, ...opts.set, status: to, version: order.version + 1n, updatedAt: new Date() };
  const audit = { payNo: order.payNo, from: order.status, to, cause: opts.cause, actor: actorOf(opts), detail: opts.detail };
  let won: boolean;
  if (opts.claim) {
    // Sent together; the audit row and the event are written only if the compare-and-set was (their guard).
    const [cas, audited, event] = await allAnswered([
      casOrderStatus(tx, change, opts.claim),
      recordTransition(tx, audit, opts.claim),
      opts.event ? addEvent(tx, opts.event, next, opts.refund, undefined, opts.claim) : true,
    ]);
    won = cas && audited && event !== null;
  } else {
    won = await casOrderStatus(tx, change);
    if (won) {
      await recordTransition(tx, audit);
      if (opts.event) await addEvent(tx, opts.event, next, opts.refund);
    }
  }
  if (!won) throw new ConcurrencyError(`order ${order.payNo} was changed concurrently; retry`, { payNo: order.payNo });
  noteOrderChange(tx, { payNo: next.payNo, status: to, version: next.version });
  return next;
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
