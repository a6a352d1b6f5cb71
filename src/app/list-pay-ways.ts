import { PAY_WAY_CATALOG } from '../channels/registry';
import { FailedPreconditionError } from '../domain/errors';
import { PAY_WAYS, type PayWayCode } from '../channels/types';
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
 * may use its channel (an account there; for the mock, the tenant's mock switch) and has not switched it off,
 * with the tenant's fee where it has its own.
 */
export async function listPayWays(deps: Deps, tenantId: string): Promise<PayWayView[]> {
  const tenant = await requireTenant(deps, tenantId);
  const overrides = new Map(
    (await listPayWayConfigs(deps.db, tenantId)).map((c) => [c.payWay, c] as const),
  );
  const usable = {
    mock: tenant.mockEnabled,
    alipay: (await deps.accounts.get(tenantId, 'alipay')) !== undefined,
    wechat: (await deps.accounts.get(tenantId, 'wechat')) !== undefined,
  };
  return PAY_WAYS.map((payWay) => {
    const handler = deps.channels.get(payWay);
    const own = overrides.get(payWay);
    return {
      payWay,
      name: PAY_WAY_CATALOG[payWay].name,
      enabled: handler !== undefined && usable[handler.channel] && (own?.enabled ?? true),
      supportsQr: handler?.supportsQr ?? false,
      supportsRefund: handler?.supportsRefund ?? false,
      feeRateBps: own?.feeRateBps ?? PAY_WAY_CATALOG[payWay].defaultFeeRateBps,
    };
  });
}

/**
 * Prepay's gate: the pay way must have a handler here, must not be switched off for the tenant, and a mock pay
 * way needs the tenant's mock switch on. Refused as FAILED_PRECONDITION: the tenant's setup, not the caller's
 * rights, is what is missing; the same call works once an operator changes it.
 */
export async function assertPayWayEnabled(deps: Deps, tenant: Tenant, payWay: string): Promise<void> {
  const handler = deps.channels.get(payWay);
  if (handler?.channel === 'mock' && !tenant.mockEnabled) {
    throw new FailedPreconditionError(`pay way ${payWay} is not enabled for tenant ${tenant.id}: the mock channel is off for it`, {
      reason: 'PAY_WAY_DISABLED',
      metadata: { payWay, tenantId: tenant.id },
    });
  }
  const own = handler ? await findPayWayConfig(deps.db, tenant.id, payWay) : null;
  if (!handler || own?.enabled === false) {
    throw new FailedPreconditionError(`pay way ${payWay} is not enabled for tenant ${tenant.id}`, {
      reason: 'PAY_WAY_DISABLED',
      metadata: { payWay, tenantId: tenant.id },
    });
  }
}
