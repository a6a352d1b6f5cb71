import { NotFoundError } from '../domain/errors';
import type { NotifyRecord } from '../generated/prisma/client';
import { findOrder, type OrderRef } from '../repo/pay-orders';
import type { Deps } from './deps';
import { requireTenant } from './tenants';

/** Every notify the channels sent about an order, oldest first, whatever became of it. */
export async function listNotifies(deps: Deps, ref: OrderRef): Promise<NotifyRecord[]> {
  await requireTenant(deps, ref.tenantId);
  const order = await findOrder(deps.db, ref);
  if (!order) throw new NotFoundError('order not found', { reason: 'ORDER_NOT_FOUND' });
  return deps.db.notifyRecord.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
}
