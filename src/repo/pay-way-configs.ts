import type { PayWayConfig } from '../generated/prisma/client';
import type { DbOrTx } from './tx';

export type { PayWayConfig };

/** A tenant's own settings per pay way (switched off, its own fee); pay ways it never set have none. */
export function listPayWayConfigs(db: DbOrTx, tenantId: string): Promise<PayWayConfig[]> {
  return db.payWayConfig.findMany({ where: { tenantId } });
}

export function findPayWayConfig(db: DbOrTx, tenantId: string, payWay: string): Promise<PayWayConfig | null> {
  return db.payWayConfig.findUnique({ where: { tenantId_payWay: { tenantId, payWay } } });
}
