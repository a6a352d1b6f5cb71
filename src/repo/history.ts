import type { Db } from '../infra/db';
import { randomUUID } from 'node:crypto';
import type { OrderTransition, PayOrder, Refund } from '../generated/prisma/client';
import type { TransitionCause } from '../generated/prisma/enums';
import type { OrderStatus } from '../domain/order-status';
import { eventEncoderOf, type EventEncoder, type Tx } from './tx';

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
export async function recordTransition(tx: Tx, t: TransitionRecord): Promise<void> {
  // One INSERT, no read-back of a row nobody reads here.
  await tx.query(INSERT_TRANSITION, [t.payNo, t.from, t.to, t.cause, fitActor(t.actor), fitDetail(t.detail), new Date()]);
}

/** One row of the audit trail: who changed an order from what to what, and why. */
export interface TransitionRecord {
  payNo: string;
  from: OrderStatus;
  to: OrderStatus;
  cause: TransitionCause;
  actor: string;
  detail: string;
}

/** The audit columns' widths (order_transition.actor, .detail): longer text is cut, never refused. */
export const fitActor = (actor: string): string => actor.slice(0, 128);
export const fitDetail = (detail: string): string => detail.slice(0, 512);

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
): Promise<OrderEvent> {
  const { event, payload } = newEvent(eventEncoderOf(tx), type, order, refund, difference);
  const args = [event.id, order.tenantId, order.payNo, type, order.version, order.notifyTopic, payload, event.occurredAt, event.occurredAt];
  await tx.query(INSERT_EVENT, args);
  return event;
}

/** An event (as it happens now, unless told when), and its payload: the event in its wire shape (the client's encoder), as JSON text. */
export function newEvent(
  encode: EventEncoder,
  type: EventType,
  order: Omit<PayOrder, 'id'>,
  refund?: Refund,
  difference?: DifferenceFact,
  occurredAt: Date = new Date(),
): { event: OrderEvent; payload: string } {
  const event: OrderEvent = { id: randomUUID(), type, occurredAt, order, refund, difference };
  return { event, payload: JSON.stringify(encode(event)) };
}

const INSERT_EVENT =
  'INSERT INTO outbox_event (id, tenant_id, pay_no, type, order_version, topic, payload, next_attempt_at, created_at) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
