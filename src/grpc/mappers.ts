import type { EventWithDeliveries } from '../app/order-events';
import type { PrepayPayload } from '../channels/types';
import { DeliveryStatus, PaymentEvent, type EventRecord } from '../gen/payment/v1/events';
import { knownPayWays } from '../channels/catalog';
import { InvalidArgumentError } from '../domain/errors';
import type { PrepayResponse } from '../gen/payment/v1/payment_service';
import {
  AttemptStatus,
  CloseReason,
  NotifyResult,
  OrderStatus,
  PayWay,
  RefundStatus,
  TransitionCause,
  type OrderTransition as PbTransition,
  type PayAttempt as PbAttempt,
  type PayOrder as PbOrder,
  type NotifyRecord as PbNotifyRecord,
  type ChannelExchange,
  type Refund as PbRefund,
} from '../gen/payment/v1/types';
import type { NotifyRecord, OrderTransition } from '../generated/prisma/client';
import type { PayAttempt, PayOrder, Refund } from '../repo/pay-orders';
import type { ChannelRecord } from '../domain/channel-record';

/**
 * Rows to proto messages. Pay ways are stored as their catalog code and travel as the catalog's number for it
 * (the proto PayWay value; a pay way a deployment adds outside the proto travels as its own number).
 */
export const payWayToProto = (code: string): PayWay => knownPayWays.get(code)?.protoNumber ?? PayWay.PAY_WAY_UNSPECIFIED;

/**
 * PayWay.PAY_WAY_UNSPECIFIED as a plain number: pay way numbers are compared as numbers here, since the catalog
 * may hold ones the proto's enum does not list.
 */
const UNSPECIFIED_PAY_WAY: number = PayWay.PAY_WAY_UNSPECIFIED;

/** A pay way number from the wire: '' for UNSPECIFIED, its code if the catalog has it, INVALID_ARGUMENT otherwise. */
export function payWayFromProto(way: number, field = 'pay_way'): string {
  if (way === UNSPECIFIED_PAY_WAY) return '';
  const entry = knownPayWays.byProtoNumber(way);
  if (!entry) throw new InvalidArgumentError(field, `${way} is not a pay way this service knows`);
  return entry.code;
}

/** A known pay way number, or 0 (UNSPECIFIED). */
export const isPayWayNumber = (n: number): boolean => n === UNSPECIFIED_PAY_WAY || knownPayWays.byProtoNumber(n) !== undefined;

export function orderToProto(
  o: Omit<PayOrder, 'id'>,
  attempts: PayAttempt[] = [],
  refunds: Refund[] = [],
  transitions: OrderTransition[] = [],
): PbOrder {
  return {
    payNo: o.payNo,
    tenantId: o.tenantId,
    outOrderNo: o.outOrderNo,
    amount: o.amount,
    currency: o.currency,
    subject: o.subject,
    description: o.description,
    userId: o.userId,
    payWay: payWayToProto(o.payWay),
    status: OrderStatus[`ORDER_STATUS_${o.status}`],
    notifyTopic: o.notifyTopic,
    attach: o.attach,
    extra: (o.extra ?? {}) as Record<string, string>,
    clientIp: o.clientIp,
    returnUrl: o.returnUrl,
    expireTime: o.expireAt,
    refundedAmount: o.refundedAmount,
    refundPendingAmount: o.refundPendingAmount,
    channelTradeNo: o.channelTradeNo ?? '',
    paidTime: o.paidAt ?? undefined,
    version: o.version,
    payWaySwitches: o.payWaySwitches,
    createTime: o.createdAt,
    updateTime: o.updatedAt,
    attempts: attempts.map(attemptToProto),
    refunds: refunds.map(refundToProto),
    transitions: transitions.map(transitionToProto),
    closeReason: o.closeReason ? CloseReason[`CLOSE_REASON_${o.closeReason}`] : CloseReason.CLOSE_REASON_UNSPECIFIED,
    fee: o.fee,
    netAmount: o.netAmount,
    refundedFee: o.refundedFee,
  };
}

export function transitionToProto(t: OrderTransition): PbTransition {
  return {
    fromStatus: OrderStatus[`ORDER_STATUS_${t.fromStatus}`],
    toStatus: OrderStatus[`ORDER_STATUS_${t.toStatus}`],
    cause: TransitionCause[`TRANSITION_CAUSE_${t.cause}`],
    actor: t.actor,
    detail: t.detail,
    createTime: t.createdAt,
  };
}

export function attemptToProto(a: PayAttempt): PbAttempt {
  return {
    attemptNo: a.attemptNo,
    payWay: payWayToProto(a.payWay),
    status: AttemptStatus[`ATTEMPT_STATUS_${a.status}`],
    channelTradeNo: a.channelTradeNo ?? '',
    createTime: a.createdAt,
    updateTime: a.updatedAt,
    payerChannelId: a.payerChannelId ?? '',
    payerAccount: a.payerAccount ?? '',
    paidAmount: a.paidAmount ?? 0n,
    paidTime: a.paidAt ?? undefined,
    channelRecords: recordsToProto(a.channelRecords),
    fee: a.fee,
    netAmount: a.netAmount,
  };
}

/** Stored channel records (JSON, see src/domain/channel-record.ts) as ChannelExchange messages, oldest first. */
export function recordsToProto(stored: unknown): ChannelExchange[] {
  const list = (typeof stored === 'string' ? JSON.parse(stored) : stored) as ChannelRecord[] | null;
  if (!Array.isArray(list)) return [];
  return list.map((r) => ({
    operation: r.operation,
    endpoint: r.endpoint,
    sent: { ...r.sent },
    answer: { ...r.answer },
    time: new Date(r.at),
  }));
}

export function refundToProto(r: Refund): PbRefund {
  return {
    refundNo: r.refundNo,
    outRefundNo: r.outRefundNo,
    payNo: r.payNo,
    amount: r.amount,
    currency: r.currency,
    reason: r.reason,
    status: RefundStatus[`REFUND_STATUS_${r.status}`],
    channelRefundNo: r.channelRefundNo ?? '',
    failureReason: r.failureReason ?? '',
    createTime: r.createdAt,
    successTime: r.succeededAt ?? undefined,
    requestedBy: r.requestedBy,
    channelRecords: recordsToProto(r.channelRecords),
    attemptNo: r.attemptNo,
    duplicate: r.duplicate,
    fee: r.fee,
  };
}

const PAYLOAD_CASE = {
  appOrderString: 'appOrderString',
  qrCodeUrl: 'qrCodeUrl',
  redirectUrl: 'redirectUrl',
  htmlForm: 'htmlForm',
  mockPayUrl: 'mockPayUrl',
} as const;

export function payloadToProto(p: PrepayPayload): PrepayResponse['payload'] {
  if (p.kind === 'signParams') return { $case: 'signParams', value: { params: p.value } };
  return { $case: PAYLOAD_CASE[p.kind], value: p.value };
}

export function notifyToProto(n: NotifyRecord): PbNotifyRecord {
  return {
    channel: n.channel,
    notifyId: n.notifyId,
    kind: n.kind,
    signatureValid: n.signatureValid,
    result: NotifyResult[`NOTIFY_RESULT_${n.result}`],
    detail: n.detail,
    rawPayload: n.rawPayload,
    receiveTime: n.createdAt,
  };
}

/** Is this a value the generated PayWay enum has (its JSON helpers throw on any other)? */
const inProto = (way: number): boolean => PayWay[way] !== undefined;

/**
 * An event as stored and delivered (proto JSON). A pay way outside the proto enum is written as its number, as
 * proto JSON writes an enum value it has no name for (ts-proto's helper would throw instead).
 */
export function eventToJson(event: PaymentEvent): object {
  if (inProto(event.payWay)) return PaymentEvent.toJSON(event) as object;
  return { ...(PaymentEvent.toJSON({ ...event, payWay: PayWay.PAY_WAY_UNSPECIFIED }) as object), payWay: event.payWay };
}

/** The inverse of eventToJson. */
export function eventFromJson(payload: unknown): PaymentEvent {
  const { payWay, ...rest } = (payload ?? {}) as { payWay?: unknown };
  if (typeof payWay !== 'number' || inProto(payWay)) return PaymentEvent.fromJSON(payload);
  return { ...PaymentEvent.fromJSON(rest), payWay };
}

/** The channel a pay way belongs to, from the catalog ('' for none or an unknown one). */
export const channelOfPayWay = (payWay: string): string => knownPayWays.get(payWay)?.channel ?? '';

export function eventToProto(e: EventWithDeliveries): EventRecord {
  return {
    event: eventFromJson(e.payload),
    topic: e.topic,
    deliveryStatus: DeliveryStatus[`DELIVERY_STATUS_${e.status}`],
    attempts: e.attempts,
    lastError: e.lastError ?? '',
    nextAttemptTime: e.status === 'PENDING' || e.status === 'QUEUED' ? e.nextAttemptAt : undefined,
    deliveredTime: e.deliveredAt ?? undefined,
    deliveries: e.deliveries.map((d) => ({
      attempt: d.attempt,
      target: d.target,
      ok: d.ok,
      detail: d.detail,
      durationMs: d.durationMs,
      attemptTime: d.createdAt,
      actor: d.actor ?? '',
    })),
  };
}
