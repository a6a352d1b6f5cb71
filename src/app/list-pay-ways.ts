import { knownPayWays } from '../channels/catalog';
import { FailedPreconditionError } from '../domain/errors';
import type { PayWayCode } from '../channels/types';
import type { FeeRule } from '../domain/fees';
import type { Deps } from './deps';
import { settingsOf } from './pay-way-configs';
import { requireTenant, type Tenant } from './tenants';
import { listPayWayConfigs } from '../repo/pay-way-configs';

export interface PayWayView {
  payWay: PayWayCode;
  name: string;
  enabled: boolean;
  supportsQr: boolean;
  supportsRefund: boolean;
  feeRateBps: number;
  feeRule: FeeRule;
  displayOrder: number;
  /** 0 while never configured. */
  version: number;
  updatedAt?: Date;
  updatedBy: string;
}

/**
 * The catalog as one tenant sees it: every pay way, enabled when this deployment has its handler, the tenant
 * may use its channel (has an account there) and has not switched it off, with the tenant's fee rule where it has
 * its own; sorted by display order, then catalog order. Read from the table, not the cache: an operator sees the
 * change just made on any instance.
 */
export async function listPayWays(deps: Deps, tenantId: string): Promise<PayWayView[]> {
  const tenant = await requireTenant(deps, tenantId);
  const overrides = new Map((await listPayWayConfigs(deps.db, tenantId)).map((c) => [c.payWay, c] as const));
  const usable = new Map<string, boolean>();
  for (const m of deps.channels.modules) usable.set(m.name, (await deps.accounts.get(tenant.id, m.name)) !== undefined);
  const views = knownPayWays.entries().map((entry): PayWayView => {
    const payWay = entry.code;
    const handler = deps.channels.get(payWay);
    const own = overrides.get(payWay);
    const s = settingsOf(entry, own);
    return {
      payWay,
      name: entry.name,
      enabled: handler !== undefined && usable.get(handler.channel) === true && s.enabled,
      supportsQr: handler?.supportsQr ?? false,
      supportsRefund: handler?.supportsRefund ?? false,
      feeRateBps: s.feeRateBps,
      feeRule: { rateBps: s.feeRateBps, minFee: s.minFee },
      displayOrder: s.displayOrder,
      version: own?.version ?? 0,
      updatedAt: own?.updatedAt,
      updatedBy: own?.updatedBy ?? '',
    };
  });
  // Array.prototype.sort is stable: equal display orders keep catalog order.
  return views.sort((a, b) => a.displayOrder - b.displayOrder);
}

/** One pay way as listPayWays shows it. */
export async function describePayWay(deps: Deps, tenantId: string, payWay: string): Promise<PayWayView> {
  const view = (await listPayWays(deps, tenantId)).find((w) => w.payWay === payWay);
  if (!view) throw new Error(`pay way ${payWay} is not in the catalog`);
  return view;
}

/**
 * Prepay's gate: the pay way must have a handler here and must not be switched off for the tenant; on a channel
 * a tenant has only with an account there (the mock), the account is what switches it on. Refused as
 * FAILED_PRECONDITION: the tenant's setup, not the caller's rights, is what is missing; the same call works once
 * an operator changes it.
 */
export async function assertPayWayEnabled(deps: Deps, tenant: Tenant, payWay: string): Promise<void> {
  const handler = deps.channels.get(payWay);
  const optIn = handler !== undefined && deps.channels.module(handler.channel)?.account.absentMeansOff === true;
  if (handler && optIn && !(await deps.accounts.get(tenant.id, handler.channel))) {
    throw new FailedPreconditionError(
      `pay way ${payWay} is not enabled for tenant ${tenant.id}: the ${handler.channel} channel is off for it`,
      {
        reason: 'PAY_WAY_DISABLED',
        metadata: { payWay, tenantId: tenant.id },
      },
    );
  }
  // From the cache (PAY_WAY_CACHE_MS): an operator's switch-off reaches every instance within it.
  const own = handler ? (await deps.payWays.of(tenant.id)).get(payWay) : undefined;
  if (!handler || own?.enabled === false) {
    const why = handler ? 'an operator switched it off for this tenant' : 'this deployment has no handler for it';
    throw new FailedPreconditionError(`pay way ${payWay} is not enabled for tenant ${tenant.id}: ${why}`, {
      reason: 'PAY_WAY_DISABLED',
      metadata: { payWay, tenantId: tenant.id },
    });
  }
}
