import { randomUUID } from 'node:crypto';
import type { OrderTransition, PayOrder, Refund } from '../generated/prisma/client';
import type { TransitionCause } from '../generated/prisma/enums';
import { PaymentEvent, PaymentEventType } from '../gen/payment/v1/events';
import { CloseReason, OrderStatus as ProtoOrderStatus } from '../gen/payment/v1/types';
import { channelOfPayWay, eventToJson, payWayToProto, refundToProto } from '../grpc/mappers';
import type { OrderStatus } from '../domain/order-status';
import type { DbOrTx, Tx } from './tx';

export type EventType =
  | 'PAYMENT_SUCCEEDED'
  | 'PAYMENT_FAILED'
  | 'ORDER_CLOSED'
  | 'PAID_AFTER_CLOSE'
  | 'REFUND_SUCCEEDED'
  | 'REFUND_FAILED'
  | 'DUPLICATE_PAYMENT'
  | 'PAYMENT_REFUNDED_AT_CHANNEL';

/** Audit trail: one row per status change, written in the change's own transaction. */
export async function recordTransition(
  tx: Tx,
  t: { payNo: string; from: OrderStatus; to: OrderStatus; cause: TransitionCause; actor: string; detail: string },
): Promise<void> {
  // createMany: one INSERT, no read-back of a row nobody reads here.
  await tx.orderTransition.createMany({
    data: { payNo: t.payNo, fromStatus: t.from, toStatus: t.to, cause: t.cause, actor: t.actor.slice(0, 128), detail: t.detail.slice(0, 512) },
  });
}

/** An order's audit trail, oldest first. */
export function listTransitions(db: DbOrTx, payNo: string): Promise<OrderTransition[]> {
  return db.orderTransition.findMany({ where: { payNo }, orderBy: { id: 'asc' } });
}

export type { OrderTransition };

/**
 * Outbox: the event for the order side, written in the same transaction as the change it describes, so a
 * crash between commit and delivery loses nothing. `order` is the order as it is after the change (for a
 * DUPLICATE_PAYMENT: with the second payment's pay way, time and channel trade no). The event carries what a
 * consumer needs without a Query: why it closed, when and how it was paid, and the refund itself.
 */
export async function addEvent(tx: Tx, type: EventType, order: PayOrder, refund?: Refund): Promise<string> {
  const id = randomUUID();
  const event: PaymentEvent = {
    eventId: id,
    type: PaymentEventType[`PAYMENT_EVENT_TYPE_${type}`],
    tenantId: order.tenantId,
    payNo: order.payNo,
    outOrderNo: order.outOrderNo,
    amount: order.amount,
    currency: order.currency,
    status: ProtoOrderStatus[`ORDER_STATUS_${order.status}`],
    version: order.version,
    occurredAt: new Date(),
    channelTradeNo: order.channelTradeNo ?? '',
    attach: order.attach,
    refundedAmount: order.refundedAmount,
    refundNo: refund?.refundNo ?? '',
    outRefundNo: refund?.outRefundNo ?? '',
    refundAmount: refund?.amount ?? 0n,
    closeReason: order.closeReason ? CloseReason[`CLOSE_REASON_${order.closeReason}`] : CloseReason.CLOSE_REASON_UNSPECIFIED,
    paidAt: order.paidAt ?? undefined,
    payWay: payWayToProto(order.payWay),
    channel: channelOfPayWay(order.payWay),
    refund: refund ? refundToProto(refund) : undefined,
  };
  await tx.outboxEvent.createMany({
    data: {
      id,
      tenantId: order.tenantId,
      payNo: order.payNo,
      type,
      orderVersion: order.version,
      topic: order.notifyTopic,
      payload: eventToJson(event),
    },
  });
  return id;
}
