import { PAY_WAY_CATALOG } from '../channels/registry';
import { FailedPreconditionError } from '../domain/errors';
import { PAY_WAYS, type PayWayCode } from '../channels/types';
import type { Deps } from './deps';

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
 * has an account at its channel and has not switched it off, with the tenant's fee where it has its own.
 */
export async function listPayWays(deps: Deps, tenantId: string): Promise<PayWayView[]> {
  const overrides = new Map(
    (await deps.db.payWayConfig.findMany({ where: { tenantId } })).map((c) => [c.payWay, c] as const),
  );
  const hasAccount = {
    mock: true,
    alipay: (await deps.accounts.get(tenantId, 'alipay')) !== undefined,
    wechat: (await deps.accounts.get(tenantId, 'wechat')) !== undefined,
  };
  return PAY_WAYS.map((payWay) => {
    const handler = deps.channels.get(payWay);
    const own = overrides.get(payWay);
    return {
      payWay,
      name: PAY_WAY_CATALOG[payWay].name,
      enabled: handler !== undefined && hasAccount[handler.channel] && (own?.enabled ?? true),
      supportsQr: handler?.supportsQr ?? false,
      supportsRefund: handler?.supportsRefund ?? false,
      feeRateBps: own?.feeRateBps ?? PAY_WAY_CATALOG[payWay].defaultFeeRateBps,
    };
  });
}

/** Prepay's gate: the pay way must have a handler here and must not be switched off for the tenant. */
export async function assertPayWayEnabled(deps: Deps, tenantId: string, payWay: string): Promise<void> {
  const own = deps.channels.get(payWay)
    ? await deps.db.payWayConfig.findUnique({ where: { tenantId_payWay: { tenantId, payWay } } })
    : null;
  if (!deps.channels.get(payWay) || own?.enabled === false) {
    throw new FailedPreconditionError(`pay way ${payWay} is not enabled for tenant ${tenantId}`);
  }
}
