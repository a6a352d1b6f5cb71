import { listOrdersAfter, type OrderFilter } from '../repo/order-queries';
import type { PayOrder } from '../repo/pay-orders';
import type { Deps } from './deps';
import { decodePageToken, encodePageToken } from './page-token';
import { requireTenant } from './tenants';

export interface ListOrdersQuery {
  filter: OrderFilter;
  pageSize: number;
  /** '' for the first page. */
  pageToken: string;
}

export interface OrderPage {
  orders: PayOrder[];
  /** '' on the last page. */
  nextPageToken: string;
}

/**
 * A tenant's orders, newest first, a page at a time. The token names the last order served (keyset, not an
 * offset), so orders created while a caller pages through never shift, repeat or hide the ones still to come.
 */
export async function listOrders(deps: Deps, q: ListOrdersQuery): Promise<OrderPage> {
  await requireTenant(deps, q.filter.tenantId);
  const cursor = q.pageToken ? decodePageToken(q.pageToken, q.filter) : undefined;
  const rows = await listOrdersAfter(deps.db, q.filter, cursor, q.pageSize + 1); // one more tells if a page follows
  const orders = rows.slice(0, q.pageSize);
  const last = orders[orders.length - 1];
  return { orders, nextPageToken: rows.length > q.pageSize ? encodePageToken(last, q.filter) : '' };
}
