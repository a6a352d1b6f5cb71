import { ConcurrencyError, NotFoundError } from '../domain/errors';
import { findOrder, type OrderRef } from '../repo/pay-orders';
import { findEvent, listOrderEvents, type EventDelivery, type OutboxEvent } from '../repo/outbox';
import { runTx } from '../repo/tx';
import type { Deps, RequestContext } from './deps';
import { requireTenant } from './tenants';

export type EventWithDeliveries = OutboxEvent & { deliveries: EventDelivery[] };

/** Every event written for an order, oldest first, with its delivery state and every delivery try. */
export async function listEvents(deps: Deps, ref: OrderRef): Promise<EventWithDeliveries[]> {
  await requireTenant(deps, ref.tenantId);
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  return listOrderEvents(deps.db, order.payNo);
}

/**
 * Delivers an event again, under the same event id, with a fresh retry schedule: for a dead letter whose
 * consumer is fixed, or to push a queued event ahead of its next retry. The replay is recorded among the
 * event's deliveries. An event being delivered at this very moment is refused (ABORTED; try again).
 */
export async function replayEvent(deps: Deps, tenantId: string, eventId: string, ctx: RequestContext): Promise<EventWithDeliveries> {
  await requireTenant(deps, tenantId);
  const event = await findEvent(deps.db, eventId);
  // Byte for byte: the lookup's collation still ignores trailing spaces. From here on only the stored id is used.
  if (!event || event.id !== eventId || event.tenantId !== tenantId) throw new NotFoundError('event not found', { reason: 'EVENT_NOT_FOUND' });
  const id = event.id;
  if (!(await deps.deliveries.forget(id, event.topic))) throw new ConcurrencyError(`event ${id} is being delivered right now; retry`, { eventId });
  await runTx(deps.db, async (tx) => {
    await tx.outboxEvent.updateMany({
      where: { id },
      data: { status: 'PENDING', attempts: 0, nextAttemptAt: new Date(), deliveredAt: null },
    });
    await tx.eventDelivery.createMany({
      data: {
        eventId: id,
        attempt: 0,
        target: 'replay',
        ok: true,
        detail: `replayed from ${event.status} after ${event.attempts} attempts`,
        durationMs: 0,
        actor: ctx.actor ?? null,
      },
    });
  });
  const replayed = (await listOrderEvents(deps.db, event.payNo)).find((e) => e.id === id);
  if (!replayed) throw new NotFoundError('event not found', { reason: 'EVENT_NOT_FOUND' });
  return replayed;
}
