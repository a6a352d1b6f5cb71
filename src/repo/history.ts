import type { Db } from '../infra/db';
import { randomUUID } from 'node:crypto';
import type { OrderTransition, PayOrder, Refund } from '../generated/prisma/client';
import type { TransitionCause } from '../generated/prisma/enums';
import type { OrderStatus } from '../domain/order-status';
import { insertRow, type ClaimGuard } from './claim-guard';
import { eventEncoderOf, type Tx } from './tx';

export type EventType =
  | 'PAYMENT_SUCCEEDED'
  | 'PAYMENT_FAILED'
  | 'PAYMENT_RETRIED'
  | 'ORDER_CLOSED'
  | 'PAID_AFTER_CLOSE'
  | 'REFUND_SUCCEEDED'
  | 'REFUND_FAILED'
  | 'DUPLICATE_PAYMENT'
  | 'PAYMENT_REFUNDED_AT_CHANNEL'
  | 'DUPLICATE_PAYMENT_REFUNDED'
  | 'AUTOMATIC_REFUND_FAILED'
  | 'RECONCILIATION_DIFFERENCE';

/** What a RECONCILIATION_DIFFERENCE event tells besides the order: the difference a statement run found. */
export interface DifferenceFact {
  /** A ReconDifferenceKind (MISSING_AT_CHANNEL, AMOUNT_MISMATCH, …). */
  kind: string;
  detail: string;
  runId: bigint;
  channel: string;
  /** yyyy-MM-dd, the statement's (Beijing) day. */
  day: string;
}

/**
 * An event for the order side, as the domain sees it. `order` is the order as it is after the change (for a
 * DUPLICATE_PAYMENT: with the second payment's pay way, time and channel trade no); `refund` the refund it is about.
 * Its wire shape is the transport's (src/grpc/event-mappers.ts), given to the database client at start.
 */
export interface OrderEvent {
  id: string;
  type: EventType;
  occurredAt: Date;
  order: Omit<PayOrder, 'id'>;
  refund?: Refund;
  difference?: DifferenceFact;
}

/** Audit trail: one row per status change, written in the change's own transaction. */
export async function recordTransition(
  tx: Tx,
  t: { payNo: string; from: OrderStatus; to: OrderStatus; cause: TransitionCause; actor: string; detail: string },
  claim?: ClaimGuard,
): Promise<boolean> {
  // One INSERT, no read-back of a row nobody reads here.
  const args = [t.payNo, t.from, t.to, t.cause, t.actor.slice(0, 128), t.detail.slice(0, 512), new Date()];
  const written = await insertRow(tx, INSERT_TRANSITION, args, claim);
  return written.affectedRows === 1;
}

const INSERT_TRANSITION =
  'INSERT INTO order_transition (pay_no, from_status, to_status, cause, actor, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)';

/** An order's audit trail, oldest first. */
export function listTransitions(db: Db, payNo: string): Promise<OrderTransition[]> {
  return db.orderTransition.findMany({ where: { payNo }, orderBy: { id: 'asc' } });
}

export type { OrderTransition };

/**
 * Outbox: the event for the order side, written in the same transaction as the change it describes, so a
 * crash between commit and delivery loses nothing. The payload is the event in its wire shape, encoded by the
 * encoder the transport gave this database client (see encodeEventsWith).
 */
export async function addEvent(
  tx: Tx,
  type: EventType,
  order: Omit<PayOrder, 'id'>,
  refund?: Refund,
  difference?: DifferenceFact,
  claim?: ClaimGuard,
): Promise<OrderEvent | null> {
  const event: OrderEvent = { id: randomUUID(), type, occurredAt: new Date(), order, refund, difference };
  const payload = JSON.stringify(eventEncoderOf(tx)(event));
  const args = [event.id, order.tenantId, order.payNo, type, order.version, order.notifyTopic, payload, event.occurredAt, event.occurredAt];
  const written = await insertRow(tx, INSERT_EVENT, args, claim);
  return written.affectedRows === 1 ? event : null; // none only under a claim that was lost
}

const INSERT_EVENT =
  'INSERT INTO outbox_event (id, tenant_id, pay_no, type, order_version, topic, payload, next_attempt_at, created_at) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
