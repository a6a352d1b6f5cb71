import { ConcurrencyError, NotFoundError } from '../domain/errors';
import { findOrder, type OrderRef } from '../repo/pay-orders';
import {
  findEvent,
  listOrderEvents,
  listOrderEventsAfter,
  resetEventForReplay,
  type EventDelivery,
  type OutboxEvent,
} from '../repo/outbox';
import { runTx } from '../repo/tx';
import type { Deps, RequestContext } from './deps';
import { ROW_ID, decodeKeyToken, encodeKeyToken, pageOf, type PageRequest } from './page-token';
import { requireTenant } from './tenants';

const EVENT_ID = /^[0-9a-f-]{36}$/;

export type EventWithDeliveries = OutboxEvent & { deliveries: EventDelivery[] };

/**
 * Every event written for an order, oldest first (by order version, then id), with its delivery state and every
 * delivery try; a page at a time (keyset on order version and id).
 */
export async function listEvents(
  deps: Deps,
  ref: OrderRef,
  page: PageRequest,
): Promise<{ items: EventWithDeliveries[]; nextPageToken: string }> {
  await requireTenant(deps, ref.tenantId);
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const scope = [order.tenantId, order.payNo];
  const key = page.pageToken ? decodeKeyToken('ListEvents', scope, page.pageToken, [ROW_ID, EVENT_ID]) : undefined;
  const after = key ? { orderVersion: BigInt(key[0]), id: key[1] } : undefined;
  const rows = await listOrderEventsAfter(deps.db, order.payNo, after, page.pageSize + 1);
  return pageOf(rows, page.pageSize, (last) => encodeKeyToken('ListEvents', scope, [last.orderVersion.toString(), last.id]));
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
  if (!event || event.id !== eventId || event.tenantId !== tenantId)
    throw new NotFoundError('event not found', { reason: 'EVENT_NOT_FOUND' });
  const id = event.id;
  if (!(await deps.deliveries.forget(id, event.topic)))
    throw new ConcurrencyError(`event ${id} is being delivered right now; retry`, { eventId });
  const detail = `replayed from ${event.status} after ${event.attempts} attempts`;
  await runTx(deps.db, (tx) => resetEventForReplay(tx, id, { detail, actor: ctx.actor ?? null }));
  const replayed = (await listOrderEvents(deps.db, event.payNo)).find((e) => e.id === id);
  if (!replayed) throw new NotFoundError('event not found', { reason: 'EVENT_NOT_FOUND' });
  return replayed;
}
