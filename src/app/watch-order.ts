import { NotFoundError } from '../domain/errors';
import { isOpen } from '../domain/order-status';
import { findOrder, type OrderRef, type PayOrder } from '../repo/pay-orders';
import type { Deps } from './deps';
import { requireTenant } from './tenants';

/**
 * The order as it is, then again after every change, until the buyer can no longer pay it (SUCCESS, CLOSED,
 * FAILED…) or `signal` aborts. Subscribes before the first read, so a change between the two is not missed;
 * each wake-up (a feed message or the fallback timer) re-reads the order and yields it if its version grew.
 */
export async function* watchOrder(deps: Deps, ref: OrderRef, signal: AbortSignal): AsyncGenerator<PayOrder> {
  let wake: (() => void) | undefined;
  let woken = false;
  const poke = () => {
    woken = true;
    wake?.();
  };
  await requireTenant(deps, ref.tenantId);
  const first = await findOrder(deps.db, ref);
  if (!first) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const unsubscribe = await deps.orderFeed.subscribe(first.payNo, poke);
  signal.addEventListener('abort', poke);
  try {
    let last = (await findOrder(deps.db, ref)) ?? first;
    yield last;
    while (isOpen(last.status) && !signal.aborted) {
      if (!woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deps.watchPollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      woken = false;
      if (signal.aborted) break;
      const now = await findOrder(deps.db, ref);
      if (now && now.version > last.version) {
        last = now;
        yield now;
      }
    }
  } finally {
    signal.removeEventListener('abort', poke);
    await unsubscribe();
  }
}
