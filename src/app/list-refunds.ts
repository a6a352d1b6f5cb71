import { NotFoundError } from '../domain/errors';
import { findOrder, type OrderRef } from '../repo/pay-orders';
import { listRefundsAfter, type Refund } from '../repo/refunds';
import type { Deps } from './deps';
import { ROW_ID, decodeKeyToken, encodeKeyToken, pageOf, type PageRequest } from './page-token';
import { requireTenant } from './tenants';

/** A tenant's refunds, or one order's (`order` names it), oldest first. */
export interface RefundScope {
  tenantId: string;
  order?: OrderRef;
}

/** The refunds in scope, oldest first, a page at a time (keyset on id). An order that does not exist is NOT_FOUND. */
export async function listRefunds(deps: Deps, scope: RefundScope, page: PageRequest): Promise<{ items: Refund[]; nextPageToken: string }> {
  await requireTenant(deps, scope.tenantId);
  let payNo: string | undefined;
  if (scope.order) {
    const order = await findOrder(deps.db, scope.order);
    if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
    payNo = order.payNo;
  }
  const pinned = [scope.tenantId, payNo ?? ''];
  const after = page.pageToken ? decodeKeyToken('ListRefunds', pinned, page.pageToken, [ROW_ID])[0] : undefined;
  const rows = await listRefundsAfter(
    deps.db,
    { tenantId: scope.tenantId, payNo },
    after === undefined ? undefined : BigInt(after),
    page.pageSize + 1,
  );
  return pageOf(rows, page.pageSize, (last) => encodeKeyToken('ListRefunds', pinned, [last.id.toString()]));
}
