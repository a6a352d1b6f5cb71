import { listOperatorActions, type OperatorAction } from '../repo/console-queries';
import type { NotifyRecord } from '../repo/notifies';
import type { OrderView } from '../repo/order-view';
import type { Deps } from './deps';
import { listNotifies } from './list-notifies';
import { listEvents, type EventWithDeliveries } from './order-events';
import { queryOrder } from './query-order';

/** Everything recorded about one order, for the console's story page. */
export interface OrderStory {
  order: OrderView;
  notifies: NotifyRecord[];
  events: EventWithDeliveries[];
  actions: OperatorAction[];
  /** True when an order has more notifies or events than one story shows (STORY_LIMIT of each). */
  truncated: boolean;
}

const PAGE = 100;
const STORY_LIMIT = 500;

/**
 * What Query, ListNotifies and ListEvents show of an order (the same use cases, so the same tenant rules), plus
 * the operators' actions on it. Never asks the channel.
 */
export async function orderStory(deps: Deps, tenantId: string, payNo: string): Promise<OrderStory> {
  const ref = { tenantId, payNo };
  const order = await queryOrder(deps, ref, false, {});
  const notifies = await allPages((pageToken) => listNotifies(deps, ref, { pageSize: PAGE, pageToken }));
  const events = await allPages((pageToken) => listEvents(deps, ref, { pageSize: PAGE, pageToken }));
  const actions = await listOperatorActions(deps.db, tenantId, order.payNo);
  return { order, notifies: notifies.items, events: events.items, actions, truncated: notifies.more || events.more };
}

async function allPages<T>(
  page: (token: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let token = '';
  do {
    const p = await page(token);
    items.push(...p.items);
    token = p.nextPageToken;
  } while (token && items.length < STORY_LIMIT);
  return { items, more: token !== '' };
}
