import { NotFoundError } from '../domain/errors';
import { listNotifiesAfter, type NotifyRecord } from '../repo/notifies';
import { findOrder, type OrderRef } from '../repo/pay-orders';
import type { Deps } from './deps';
import { ROW_ID, decodeKeyToken, encodeKeyToken, pageOf, type PageRequest } from './page-token';
import { requireTenant } from './tenants';

/** Every notify the channels sent about an order, oldest first, whatever became of it; a page at a time (keyset on id). */
export async function listNotifies(
  deps: Deps,
  ref: OrderRef,
  page: PageRequest,
): Promise<{ items: NotifyRecord[]; nextPageToken: string }> {
  await requireTenant(deps, ref.tenantId);
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  const scope = [order.tenantId, order.payNo];
  const after = page.pageToken ? BigInt(decodeKeyToken('ListNotifies', scope, page.pageToken, [ROW_ID])[0]) : undefined;
  const rows = await listNotifiesAfter(deps.db, order.payNo, after, page.pageSize + 1);
  return pageOf(rows, page.pageSize, (last) => encodeKeyToken('ListNotifies', scope, [last.id.toString()]));
}
