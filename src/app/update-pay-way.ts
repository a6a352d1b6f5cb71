import { knownPayWays } from '../channels/catalog';
import { FailedPreconditionError, InvalidArgumentError } from '../domain/errors';
import { MAX_FEE_RATE_BPS, MAX_MIN_FEE, type FeeRule } from '../domain/fees';
import {
  insertPayWayChange,
  insertPayWayConfig,
  lockPayWayConfig,
  updatePayWayConfigFromVersion,
  type PayWayConfig,
} from '../repo/pay-way-configs';
import { isUniqueViolation, runTx } from '../repo/tx';
import type { Deps, RequestContext } from './deps';
import { settingsOf } from './pay-way-configs';
import { requireTenant } from './tenants';

export const MAX_DISPLAY_ORDER = 1_000_000;

export interface UpdatePayWayCommand {
  tenantId: string;
  payWay: string;
  /** The version the operator saw (0: never configured); anything else is a lost race, ABORTED. */
  expectedVersion: bigint;
  enabled?: boolean;
  feeRule?: FeeRule;
  displayOrder?: number;
}

/**
 * An operator changes a tenant's pay way: on or off, its fee rule, its display order. One transaction locks the
 * row, compares its version with the one the operator saw, writes the new settings (version + 1) and the audit
 * row with the actor and the settings before and after; then this instance forgets its cached configs, and the
 * others see the change within their cache's TTL. What is not given stays as it was (a first config starts from
 * the catalog's defaults).
 */
export async function updatePayWay(
  deps: Pick<Deps, 'db' | 'tenants' | 'payWays'>,
  cmd: UpdatePayWayCommand,
  ctx: RequestContext,
): Promise<PayWayConfig> {
  assertValid(cmd);
  const tenant = await requireTenant(deps, cmd.tenantId);
  const actor = ctx.actor ?? 'system:rpc';
  // Not ABORTED: clients retry an ABORTED call as it is, and this one would fail again. The operator reads the new
  // version (and what changed) and decides again.
  const lost = (now: number) =>
    new FailedPreconditionError(
      `pay way ${cmd.payWay} of tenant ${tenant.id} is at version ${now}, not ${cmd.expectedVersion}: read it again, then retry`,
      { reason: 'PAY_WAY_VERSION_CONFLICT', metadata: { tenantId: tenant.id, payWay: cmd.payWay, version: String(now) } },
    );
  try {
    await runTx(deps.db, async (tx) => {
      const current = await lockPayWayConfig(tx, tenant.id, cmd.payWay);
      const version = current?.version ?? 0;
      if (BigInt(version) !== cmd.expectedVersion) throw lost(version);
      const before = settingsOf(knownPayWays.get(cmd.payWay), current ?? undefined);
      const after = {
        enabled: cmd.enabled ?? before.enabled,
        feeRateBps: cmd.feeRule?.rateBps ?? before.feeRateBps,
        minFee: cmd.feeRule?.minFee ?? before.minFee,
        displayOrder: cmd.displayOrder ?? before.displayOrder,
      };
      if (!current) await insertPayWayConfig(tx, tenant.id, cmd.payWay, after, actor);
      else if (!(await updatePayWayConfigFromVersion(tx, tenant.id, cmd.payWay, version, after, actor))) throw lost(version + 1);
      await insertPayWayChange(tx, {
        tenantId: tenant.id,
        payWay: cmd.payWay,
        version: version + 1,
        actor,
        before: current ? before : null,
        after,
      });
    });
  } catch (err) {
    // Two first configs at once: the other insert won.
    if (isUniqueViolation(err)) throw lost(1);
    throw err;
  } finally {
    deps.payWays.forget(tenant.id);
  }
  const saved = (await deps.payWays.of(tenant.id)).get(cmd.payWay);
  if (!saved) throw new Error(`pay way ${cmd.payWay} of tenant ${tenant.id} vanished after its update`);
  return saved;
}

function assertValid(cmd: UpdatePayWayCommand): void {
  if (!knownPayWays.has(cmd.payWay)) throw new InvalidArgumentError('pay_way', 'is not a pay way this service knows');
  if (cmd.expectedVersion < 0n || cmd.expectedVersion > 2_147_483_647n) {
    throw new InvalidArgumentError('expected_version', 'must be the version ListPayWays shows (0 when never configured)');
  }
  if (cmd.enabled === undefined && cmd.feeRule === undefined && cmd.displayOrder === undefined) {
    throw new InvalidArgumentError('enabled', 'nothing to change: set at least one of enabled, fee_rule, display_order');
  }
  const rule = cmd.feeRule;
  if (rule && !(Number.isInteger(rule.rateBps) && rule.rateBps >= 0 && rule.rateBps <= MAX_FEE_RATE_BPS)) {
    throw new InvalidArgumentError('fee_rule.rate_bps', `must be 0-${MAX_FEE_RATE_BPS} basis points`);
  }
  if (rule && !(rule.minFee >= 0n && rule.minFee <= MAX_MIN_FEE)) {
    throw new InvalidArgumentError('fee_rule.min_fee', `must be 0-${MAX_MIN_FEE} minor units`);
  }
  const order = cmd.displayOrder;
  if (order !== undefined && !(Number.isInteger(order) && Math.abs(order) <= MAX_DISPLAY_ORDER)) {
    throw new InvalidArgumentError('display_order', `must be an integer from -${MAX_DISPLAY_ORDER} to ${MAX_DISPLAY_ORDER}`);
  }
}
