import { findPayNoByChannelTradeNo } from '../repo/console-queries';
import { findOrder } from '../repo/pay-orders';
import { findRefundByNo } from '../repo/refunds';
import type { Deps } from './deps';
import { requireTenant } from './tenants';

/** The keys an operator can find one order by. */
export const ORDER_KEYS = ['pay_no', 'out_order_no', 'channel_trade_no', 'refund_no'] as const;
export type OrderKey = (typeof ORDER_KEYS)[number];

/**
 * The pay_no of the tenant's order with this key, or null. Each key is one unique or index lookup; another
 * tenant's order is never found (a refund number is checked against the tenant after its unique lookup).
 */
export async function findOrderBy(deps: Deps, tenantId: string, key: OrderKey, value: string): Promise<string | null> {
  await requireTenant(deps, tenantId);
  switch (key) {
    case 'pay_no':
      return (await findOrder(deps.db, { tenantId, payNo: value }))?.payNo ?? null;
    case 'out_order_no':
      return (await findOrder(deps.db, { tenantId, outOrderNo: value }))?.payNo ?? null;
    case 'channel_trade_no':
      return findPayNoByChannelTradeNo(deps.db, tenantId, value);
    case 'refund_no': {
      const refund = await findRefundByNo(deps.db, value);
      return refund && refund.tenantId === tenantId ? refund.payNo : null;
    }
  }
}
