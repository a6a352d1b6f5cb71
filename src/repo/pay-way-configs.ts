import type { Db } from '../infra/db';
import type { PayWayConfig } from '../generated/prisma/client';
import { sqlOf } from './sql';

export type { PayWayConfig };

/** A tenant's own settings per pay way (switched off, its own fee); pay ways it never set have none. */
export function listPayWayConfigs(db: Db, tenantId: string): Promise<PayWayConfig[]> {
  return db.payWayConfig.findMany({ where: { tenantId } });
}

/** One raw read on the driver pool: every Prepay asks (and pay_way is compared again byte for byte). */
export async function findPayWayConfig(db: Db, tenantId: string, payWay: string): Promise<PayWayConfig | null> {
  const [row] = await sqlOf(db).$queryRaw<
    { tenant_id: string; pay_way: string; enabled: number; fee_rate_bps: number; updated_at: Date }[]
  >`
    SELECT tenant_id, pay_way, enabled, fee_rate_bps, updated_at FROM pay_way_config WHERE tenant_id = ${tenantId} AND pay_way = ${payWay}`;
  if (!row || row.pay_way !== payWay || row.tenant_id !== tenantId) return null;
  return {
    tenantId: row.tenant_id,
    payWay: row.pay_way,
    enabled: row.enabled === 1,
    feeRateBps: row.fee_rate_bps,
    updatedAt: row.updated_at,
  };
}
