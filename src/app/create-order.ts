import { ConflictingReplayError } from '../domain/errors';
import { newPayNo } from '../domain/ids';
import { findOrder, insertOrder, type CreatedOrder, type NewOrder, type PayOrder } from '../repo/pay-orders';
import { isUniqueViolation, retryConflicts } from '../repo/tx';
import type { Deps } from './deps';
import { scheduleTimeout } from './schedule-sync';
import { requireTenant } from './tenants';

export const DEFAULT_EXPIRE_SECONDS = 1800;

export type CreateOrderCommand = Omit<NewOrder, 'payNo' | 'expireAt' | 'createdAt'>;

/**
 * Fields that must be equal for a replay under the same (tenant_id, out_order_no) to be the same request: what is
 * bought, by whom, for how much, and where the outcome goes. Not the hints: client_ip, and pay_way, which is only a
 * preference until Prepay picks the real one (and then holds the current pay way, no longer what was asked), so a
 * retry of the same request replays whatever happened since.
 */
const BINDING_FIELDS = [
  'amount',
  'currency',
  'subject',
  'description',
  'userId',
  'notifyTopic',
  'attach',
  'extra',
  'returnUrl',
  'expireSeconds',
] as const satisfies readonly (keyof CreateOrderCommand & keyof PayOrder)[];

/**
 * Creates a pay order, or replays the one created by an identical earlier request. A replay whose binding
 * fields differ is a conflict naming them.
 */
export async function createOrder(deps: Deps, cmd: CreateOrderCommand): Promise<{ order: CreatedOrder; replayed: boolean }> {
  await requireTenant(deps, cmd.tenantId);
  const now = deps.now();
  // Field by field, not `{ ...cmd, payNo, … }`: see insertOrder.
  const row: NewOrder = {
    payNo: newPayNo(now),
    tenantId: cmd.tenantId,
    outOrderNo: cmd.outOrderNo,
    amount: cmd.amount,
    currency: cmd.currency,
    subject: cmd.subject,
    description: cmd.description,
    userId: cmd.userId,
    payWay: cmd.payWay,
    notifyTopic: cmd.notifyTopic,
    attach: cmd.attach,
    extra: cmd.extra,
    clientIp: cmd.clientIp,
    returnUrl: cmd.returnUrl,
    expireSeconds: cmd.expireSeconds,
    expireAt: new Date(now.getTime() + cmd.expireSeconds * 1000),
    createdAt: now,
  };
  try {
    const order = await retryConflicts(() => insertOrder(deps.db, row));
    const scheduling = scheduleTimeout(deps, order);
    if (scheduling) await scheduling;
    return { order, replayed: false };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = await findOrder(deps.db, { tenantId: cmd.tenantId, outOrderNo: cmd.outOrderNo });
  if (!existing) throw new Error(`unique violation on insert but no order ${cmd.tenantId}/${cmd.outOrderNo}`);
  const differing = BINDING_FIELDS.filter((f) => !sameValue(existing[f], cmd[f]));
  if (differing.length > 0)
    throw new ConflictingReplayError(`out_order_no ${cmd.outOrderNo}`, differing.map(snake), { payNo: existing.payNo });
  return { order: existing, replayed: true };
}

function sameValue(stored: unknown, requested: unknown): boolean {
  if (typeof stored === 'object' && stored !== null) return canonicalJson(stored) === canonicalJson(requested);
  return stored === requested;
}

function canonicalJson(v: unknown): string {
  const o = (v ?? {}) as Record<string, unknown>;
  return JSON.stringify(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
