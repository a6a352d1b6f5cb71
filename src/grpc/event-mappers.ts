import { PaymentEvent, PaymentEventType } from '../gen/payment/v1/events';
import { CloseReason, OrderStatus } from '../gen/payment/v1/types';
import type { OrderEvent } from '../repo/history';
import { channelOfPayWay, eventToJson, payWayToProto, refundToProto } from './mappers';

/**
 * An outbox event in its wire shape: the PaymentEvent message as proto3 JSON, stored in the outbox and delivered
 * as is. It carries what a consumer needs without a Query: why the order closed, when and how it was paid, and
 * the refund itself.
 */
export function paymentEventJson(e: OrderEvent): object {
  const { order, refund } = e;
  const event: PaymentEvent = {
    eventId: e.id,
    type: PaymentEventType[`PAYMENT_EVENT_TYPE_${e.type}`],
    tenantId: order.tenantId,
    payNo: order.payNo,
    outOrderNo: order.outOrderNo,
    amount: order.amount,
    currency: order.currency,
    status: OrderStatus[`ORDER_STATUS_${order.status}`],
    version: order.version,
    occurredAt: e.occurredAt,
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
    // Events carry no channel records: they are support's reading (Query), not the order side's facts.
    refund: refund ? { ...refundToProto(refund), channelRecords: [] } : undefined,
    fee: order.fee,
    netAmount: order.netAmount,
    refundedFee: order.refundedFee,
    differenceKind: e.difference?.kind ?? '',
    differenceDetail: e.difference?.detail ?? '',
    differenceChannel: e.difference?.channel ?? '',
    differenceDay: e.difference?.day ?? '',
    reconciliationRunId: e.difference?.runId ?? 0n,
  };
  return eventToJson(event);
}
