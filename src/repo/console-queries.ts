import type { OrderStatus } from '../domain/order-status';
import type { OperatorAction, OutboxEvent, PayOrder } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import { sqlOf } from './sql';

export type { OperatorAction };

/**
 * The console's own reads and its audit rows (src/console). Each is one index range: the order lookup by the
 * channel's trade number (idx_pay_attempt_tenant_channel_trade_no), dead letters (idx_outbox_event_tenant_status_next),
 * an order's operator actions (idx_operator_action_tenant_pay_no).
 */

/** Forced: on a small table the optimizer may take another index with the tenant prefix (paid_at) and filter. */
export const BY_CHANNEL_TRADE_NO = `SELECT pay_no, channel_trade_no FROM pay_attempt FORCE INDEX (idx_pay_attempt_tenant_channel_trade_no)
  WHERE tenant_id = ? AND channel_trade_no = ? LIMIT 4`;

/** The pay_no of the tenant's order whose attempt the channel numbered exactly `channelTradeNo`, or null. */
export async function findPayNoByChannelTradeNo(db: Db, tenantId: string, channelTradeNo: string): Promise<string | null> {
  const rows = await sqlOf(db).query<{ pay_no: string; channel_trade_no: string }[]>(BY_CHANNEL_TRADE_NO, [tenantId, channelTradeNo]);
  // Byte for byte: utf8mb4_bin still ignores trailing spaces.
  return rows.find((r) => r.channel_trade_no === channelTradeNo)?.pay_no ?? null;
}

export type DeadEvent = Pick<OutboxEvent, 'id' | 'payNo' | 'type' | 'topic' | 'attempts' | 'lastError' | 'nextAttemptAt' | 'createdAt'>;

/**
 * The dead-letters page's read (exported for its EXPLAIN test): one tenant's DEAD range, newest given up first.
 * Forced for the reason above: with few rows both (status, …) indexes cost alike and MariaDB may take the one that
 * walks every tenant's dead letters.
 */
export const DEAD_EVENTS = `SELECT id, pay_no AS payNo, type, topic, attempts, last_error AS lastError, next_attempt_at AS nextAttemptAt,
       created_at AS createdAt
  FROM outbox_event FORCE INDEX (idx_outbox_event_tenant_status_next)
 WHERE tenant_id = ? AND status = 'DEAD'
 ORDER BY next_attempt_at DESC LIMIT ?`;

/**
 * A tenant's dead letters, the most recently given up first, at most `take`: the tenant's DEAD range of
 * idx_outbox_event_tenant_status_next, already in order, so no other tenant's rows are read.
 */
export async function listDeadEvents(db: Db, tenantId: string, take: number): Promise<DeadEvent[]> {
  return sqlOf(db).query<DeadEvent[]>(DEAD_EVENTS, [tenantId, take]);
}

/**
 * A tenant's orders in one status created before `createdTo` (if given), the oldest first (the longest waiting, so
 * the most urgent), at most `take`: idx_pay_order_tenant_status_created_at read forward.
 */
export function listOldestOrders(
  db: Db,
  tenantId: string,
  status: OrderStatus,
  createdTo: Date | undefined,
  take: number,
): Promise<PayOrder[]> {
  return db.payOrder.findMany({
    where: { tenantId, status, ...(createdTo ? { createdAt: { lt: createdTo } } : {}) },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take,
  });
}

/** One audit row for an operator's action in the console, at `at` (the service's clock). */
export async function recordOperatorAction(
  db: Db,
  a: { tenantId: string; actor: string; action: string; payNo: string | null; target: string; outcome: string; at: Date },
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO operator_action (tenant_id, actor, action, pay_no, target, outcome, created_at)
    VALUES (${a.tenantId}, ${a.actor.slice(0, 128)}, ${a.action}, ${a.payNo}, ${a.target.slice(0, 64)}, ${a.outcome.slice(0, 512)}, ${a.at})`;
}

/** An order's operator actions, oldest first: the tenant's own rows only (a row names the tenant that acted). */
export function listOperatorActions(db: Db, tenantId: string, payNo: string): Promise<OperatorAction[]> {
  return db.operatorAction.findMany({ where: { tenantId, payNo }, orderBy: { id: 'asc' }, take: 500 });
}
