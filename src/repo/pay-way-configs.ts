import type { Db } from '../infra/db';
import type { PayWayConfig } from '../generated/prisma/client';
import { sqlFor, type Queryable, type Tx } from './tx';

export type { PayWayConfig };

/** The settings an operator chooses for a pay way of a tenant (the rest of a config row is bookkeeping). */
export interface PayWaySettings {
  enabled: boolean;
  feeRateBps: number;
  minFee: bigint;
  displayOrder: number;
}

interface Row {
  tenant_id: string;
  pay_way: string;
  enabled: number;
  fee_rate_bps: number;
  min_fee: bigint;
  display_order: number;
  version: number;
  updated_by: string;
  updated_at: Date;
}

const toConfig = (r: Row): PayWayConfig => ({
  tenantId: r.tenant_id,
  payWay: r.pay_way,
  enabled: r.enabled === 1,
  feeRateBps: r.fee_rate_bps,
  minFee: BigInt(r.min_fee),
  displayOrder: r.display_order,
  version: r.version,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

/** A tenant's own settings per pay way (switched off, its own fee rule, its order); pay ways it never set have none. */
export async function listPayWayConfigs(q: Queryable, tenantId: string): Promise<PayWayConfig[]> {
  const rows = await sqlFor(q).$queryRaw<Row[]>`
    SELECT tenant_id, pay_way, enabled, fee_rate_bps, min_fee, display_order, version, updated_by, updated_at
      FROM pay_way_config WHERE tenant_id = ${tenantId}`;
  return rows.filter((r) => r.tenant_id === tenantId).map(toConfig);
}

/** The row an UpdatePayWay changes, locked until its transaction ends (null: never configured). */
export async function lockPayWayConfig(tx: Tx, tenantId: string, payWay: string): Promise<PayWayConfig | null> {
  const [row] = await tx.$queryRaw<Row[]>`
    SELECT tenant_id, pay_way, enabled, fee_rate_bps, min_fee, display_order, version, updated_by, updated_at
      FROM pay_way_config WHERE tenant_id = ${tenantId} AND pay_way = ${payWay} FOR UPDATE`;
  return row ? toConfig(row) : null;
}

/** A pay way's first config, version 1 (a concurrent first config makes this a unique-key violation). */
export async function insertPayWayConfig(tx: Tx, tenantId: string, payWay: string, s: PayWaySettings, actor: string): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO pay_way_config (tenant_id, pay_way, enabled, fee_rate_bps, min_fee, display_order, version, updated_by, updated_at)
    VALUES (${tenantId}, ${payWay}, ${s.enabled}, ${s.feeRateBps}, ${s.minFee}, ${s.displayOrder}, 1, ${actor}, CURRENT_TIMESTAMP(3))`;
}

/** Compare-and-set on the version: false when it is no longer `fromVersion` (someone else changed it). */
export async function updatePayWayConfigFromVersion(
  tx: Tx,
  tenantId: string,
  payWay: string,
  fromVersion: number,
  s: PayWaySettings,
  actor: string,
): Promise<boolean> {
  const n = await tx.$executeRaw`
    UPDATE pay_way_config
       SET enabled = ${s.enabled}, fee_rate_bps = ${s.feeRateBps}, min_fee = ${s.minFee}, display_order = ${s.displayOrder},
           version = version + 1, updated_by = ${actor}, updated_at = CURRENT_TIMESTAMP(3)
     WHERE tenant_id = ${tenantId} AND pay_way = ${payWay} AND version = ${fromVersion}`;
  return n === 1;
}

/** The audit row of one change: who made `version`, and the settings before (null: first config) and after. */
export async function insertPayWayChange(
  tx: Tx,
  change: { tenantId: string; payWay: string; version: number; actor: string; before: PayWaySettings | null; after: PayWaySettings },
): Promise<void> {
  const json = (s: PayWaySettings | null) =>
    s === null ? null : JSON.stringify({ ...s, minFee: s.minFee.toString() }, Object.keys(s).sort());
  await tx.$executeRaw`
    INSERT INTO pay_way_change (tenant_id, pay_way, version, actor, \`before\`, \`after\`)
    VALUES (${change.tenantId}, ${change.payWay}, ${change.version}, ${change.actor}, ${json(change.before)}, ${json(change.after)})`;
}

/** A pay way's changes, newest first (the CLI's `history`). */
export function listPayWayChanges(db: Db, tenantId: string, payWay?: string, take = 50) {
  return db.payWayChange.findMany({
    where: { tenantId, ...(payWay ? { payWay } : {}) },
    orderBy: { id: 'desc' },
    take,
  });
}
