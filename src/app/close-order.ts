import type { CloseReason } from '../generated/prisma/enums';
import { ChannelUnavailableError, ConcurrencyError } from '../domain/errors';
import { isOpen } from '../domain/order-status';
import { findAttempt, listAttempts, lockOrder, type PayAttempt, type PayOrder } from '../repo/pay-orders';
import { runTx } from '../repo/tx';
import { closeAttemptAtChannel } from './close-attempt';
import { isLive } from './open-attempt';
import type { Deps, RequestContext } from './deps';
import { scheduleSync } from './schedule-sync';
import { syncAttempt } from './sync-attempt';
import { transition, type Attribution } from './transition';

export interface CloseOptions extends Attribution {
  /** Why, for the order (Cancel: CANCELLED; the timeout: EXPIRED). */
  closeReason: CloseReason;
  /** Why, in words, for the audit row. */
  reason: string;
  /** Ask the channel once more after closing, for a payment that slipped in as the trade closed. */
  queryAfterClose?: boolean;
  /**
   * Close a FAILED order too (Cancel), so that no retry can reopen it. The timeout leaves a FAILED order as it
   * is: past its expiry no retry can reopen it anyway, and its close reason stays PAYMENT_FAILED.
   */
  failedToo?: boolean;
}

const closable = (order: PayOrder, opts: CloseOptions): boolean =>
  isOpen(order.status) || (opts.failedToo === true && order.status === 'FAILED');

/**
 * Closes an unpaid order the only safe way: every open attempt at its channel first, then the order locally.
 * A channel that reveals a payment wins: the payment is applied and the order stays paid. A channel that does
 * not answer leaves the order as it is (and schedules a status query), because closing locally under an open
 * trade could lose a payment. Safe to run twice and to race a notify, a Cancel or a timeout: the order's CAS
 * lets exactly one final state through.
 */
export async function closeOrder(deps: Deps, order: PayOrder, opts: CloseOptions, ctx: RequestContext): Promise<void> {
  if (!closable(order, opts)) return;
  const paid = await closeAtChannels(deps, order, opts, ctx);
  if (!paid) await closeLocally(deps, order.payNo, opts);
}

/** Returns true when a channel revealed a payment (already applied). */
async function closeAtChannels(deps: Deps, order: PayOrder, opts: CloseOptions, ctx: RequestContext): Promise<boolean> {
  for (const listed of await listAttempts(deps.db, order.payNo, ['CREATED', 'OPEN'])) {
    // Marked CLOSED only from the status it had when closed: a CREATED attempt that a racing Prepay opened
    // meanwhile may have had its trade created after this close, so it is closed at its channel once more.
    const by = { cause: opts.cause, actor: opts.actor };
    let attempt: PayAttempt | null = listed;
    while (attempt && isLive(attempt)) {
      const closed = await closeAttemptAtChannel(deps, order, attempt, by, ctx, [attempt.status]);
      if (closed.outcome === 'unknown') {
        throw new ChannelUnavailableError(`could not close the ${attempt.payWay} attempt: ${closed.reason}; the order is unchanged`, {
          payNo: order.payNo,
          payWay: attempt.payWay,
        });
      }
      if (closed.outcome === 'paid') return true;
      if (opts.queryAfterClose) {
        const { status } = await syncAttempt(deps, order, attempt, by, ctx, { applyOnly: 'success' });
        if (status.outcome === 'success') return true;
      }
      if (closed.marked) break;
      attempt = await findAttempt(deps.db, attempt.attemptNo);
    }
    // Asked on the PSync schedule even so (after a timeout's immediate query too: a payment can still arrive after
    // it, and a closed trade is asked the whole schedule): a payment that slipped in as it closed (or a locally
    // signed Alipay order string, which a close cannot revoke) is found without waiting for its notify.
    await scheduleSync(deps, listed.attemptNo);
  }
  return false;
}

async function closeLocally(deps: Deps, payNo: string, opts: CloseOptions): Promise<void> {
  await runTx(deps.db, async (tx) => {
    const order = await lockOrder(tx, payNo);
    if (!closable(order, opts)) return; // paid or closed meanwhile
    // An attempt opened by a Prepay racing this close was never closed at its channel: do not close under it.
    const open = await listAttempts(tx, payNo, ['CREATED', 'OPEN']);
    if (open.length > 0) throw new ConcurrencyError(`order ${payNo} got a new pay attempt while closing; retry`, { payNo });
    await transition(tx, order, 'CLOSED', {
      cause: opts.cause,
      actor: opts.actor,
      detail: opts.reason,
      set: { closeReason: opts.closeReason },
      event: 'ORDER_CLOSED',
    });
  });
}
