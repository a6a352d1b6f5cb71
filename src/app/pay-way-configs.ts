import { knownPayWays, type PayWayEntry } from '../channels/catalog';
import type { FeeRule } from '../domain/fees';
import type { Db } from '../infra/db';
import { listPayWayConfigs, type PayWayConfig, type PayWaySettings } from '../repo/pay-way-configs';

/**
 * Reads tenants' pay-way configs, a tenant's whole set in one statement. Every Prepay and every payment success
 * asks, so a per-process cache keeps them off the database: an UpdatePayWay is applied at once by the instance
 * that made it, and by every other instance within `ttlMs` (PAY_WAY_CACHE_MS, default 10 s). A tenant that
 * configured nothing is cached too (an empty set), so most Prepays never read the table.
 */
export class PayWayConfigs {
  private readonly cache = new Map<string, { configs: Promise<ReadonlyMap<string, PayWayConfig>>; until: number }>();

  constructor(
    private readonly db: Db,
    readonly ttlMs = 10_000,
  ) {}

  /** The tenant's configs by pay way; concurrent misses share one read. */
  of(tenantId: string): Promise<ReadonlyMap<string, PayWayConfig>> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.configs;
    const configs = listPayWayConfigs(this.db, tenantId).then((rows) => new Map(rows.map((c) => [c.payWay, c] as const)));
    const entry = { configs, until: Date.now() + this.ttlMs };
    this.cache.set(tenantId, entry);
    configs.catch(() => {
      if (this.cache.get(tenantId) === entry) this.cache.delete(tenantId); // a failed read is not remembered
    });
    return configs;
  }

  /** Drops the tenant's entry: this instance's next read sees the change it just made. */
  forget(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  /** The settings in force for a tenant's pay way: its own config, else the catalog's defaults. */
  async settings(tenantId: string, payWay: string): Promise<PayWaySettings> {
    return settingsOf(knownPayWays.get(payWay), (await this.of(tenantId)).get(payWay));
  }

  /** The fee rule a payment on the pay way is charged now. */
  async feeRule(tenantId: string, payWay: string): Promise<FeeRule> {
    const s = await this.settings(tenantId, payWay);
    return { rateBps: s.feeRateBps, minFee: s.minFee };
  }
}

/** A tenant's settings of a pay way: what it configured, or the defaults (on, the catalog's rate, no minimum, order 0). */
export function settingsOf(entry: Pick<PayWayEntry, 'defaultFeeRateBps'> | undefined, own: PayWayConfig | undefined): PayWaySettings {
  return {
    enabled: own?.enabled ?? true,
    feeRateBps: own?.feeRateBps ?? entry?.defaultFeeRateBps ?? 0,
    minFee: own?.minFee ?? 0n,
    displayOrder: own?.displayOrder ?? 0,
  };
}
