import { knownPayWays } from '../channels/catalog';
import { FailedPreconditionError } from '../domain/errors';
import type { PayWayCode } from '../channels/types';
import type { Deps } from './deps';
import { requireTenant, type Tenant } from './tenants';
import { findPayWayConfig, listPayWayConfigs } from '../repo/pay-way-configs';

export interface PayWayView {
  payWay: PayWayCode;
  name: string;
  enabled: boolean;
  supportsQr: boolean;
  supportsRefund: boolean;
  feeRateBps: number;
}

/**
 * The catalog as one tenant sees it: every pay way, enabled when this deployment has its handler, the tenant
 * may use its channel (has an account there) and has not switched it off, with the tenant's fee where it has
 * its own.
 */
export async function listPayWays(deps: Deps, tenantId: string): Promise<PayWayView[]> {
  const tenant = await requireTenant(deps, tenantId);
  const overrides = new Map((await listPayWayConfigs(deps.db, tenantId)).map((c) => [c.payWay, c] as const));
  const usable = new Map<string, boolean>();
  for (const m of deps.channels.modules) usable.set(m.name, (await deps.accounts.get(tenant.id, m.name)) !== undefined);
  return knownPayWays.entries().map((entry) => {
    const payWay = entry.code;
    const handler = deps.channels.get(payWay);
    const own = overrides.get(payWay);
    return {
      payWay,
      name: entry.name,
      enabled: handler !== undefined && usable.get(handler.channel) === true && (own?.enabled ?? true),
      supportsQr: handler?.supportsQr ?? false,
      supportsRefund: handler?.supportsRefund ?? false,
      feeRateBps: own?.feeRateBps ?? entry.defaultFeeRateBps,
    };
  });
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
  const own = handler ? await findPayWayConfig(deps.db, tenant.id, payWay) : null;
  if (!handler || own?.enabled === false) {
    throw new FailedPreconditionError(`pay way ${payWay} is not enabled for tenant ${tenant.id}`, {
      reason: 'PAY_WAY_DISABLED',
      metadata: { payWay, tenantId: tenant.id },
    });
  }
}
