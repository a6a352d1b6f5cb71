import type { OrderTransition, PayAttempt, PayOrder, Refund } from '../generated/prisma/client';
import type { AttemptStatus, CloseReason, OrderStatus, RefundStatus } from '../generated/prisma/enums';

/**
 * Rows as the mariadb driver reads them (snake_case, see Sql) and the one place per table that turns them into the
 * Prisma model types the rest of the code knows. BIGINT is already a bigint and DATETIME(3) a UTC Date (createDb);
 * JSON arrives parsed, ENUM as its text.
 */

/** Every column of pay_order, in the order the mapper reads them. */
export const PAY_ORDER_COLUMNS =
  'id, pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way, status, notify_topic, ' +
  'attach, extra, client_ip, return_url, expire_seconds, expire_at, refunded_amount, refund_pending_amount, ' +
  'channel_trade_no, paid_at, close_reason, version, pay_way_switches, current_attempt_no, created_at, updated_at, fee, net_amount, refunded_fee';

export interface PayOrderRow {
  id: bigint;
  pay_no: string;
  tenant_id: string;
  out_order_no: string;
  amount: bigint;
  currency: string;
  subject: string;
  description: string;
  user_id: string;
  pay_way: string;
  status: OrderStatus;
  notify_topic: string;
  attach: string;
  extra: PayOrder['extra'];
  client_ip: string;
  return_url: string;
  expire_seconds: number;
  expire_at: Date;
  refunded_amount: bigint;
  refund_pending_amount: bigint;
  channel_trade_no: string | null;
  paid_at: Date | null;
  close_reason: CloseReason | null;
  version: bigint;
  pay_way_switches: number;
  current_attempt_no: string | null;
  created_at: Date;
  updated_at: Date;
  fee: bigint;
  net_amount: bigint;
  refunded_fee: bigint;
}

export const toPayOrder = (r: PayOrderRow): PayOrder => ({
  id: r.id,
  payNo: r.pay_no,
  tenantId: r.tenant_id,
  outOrderNo: r.out_order_no,
  amount: r.amount,
  currency: r.currency,
  subject: r.subject,
  description: r.description,
  userId: r.user_id,
  payWay: r.pay_way,
  status: r.status,
  notifyTopic: r.notify_topic,
  attach: r.attach,
  extra: r.extra,
  clientIp: r.client_ip,
  returnUrl: r.return_url,
  expireSeconds: r.expire_seconds,
  expireAt: r.expire_at,
  refundedAmount: r.refunded_amount,
  refundPendingAmount: r.refund_pending_amount,
  channelTradeNo: r.channel_trade_no,
  paidAt: r.paid_at,
  closeReason: r.close_reason,
  version: r.version,
  payWaySwitches: r.pay_way_switches,
  currentAttemptNo: r.current_attempt_no,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  fee: r.fee,
  netAmount: r.net_amount,
  refundedFee: r.refunded_fee,
});

export const PAY_ATTEMPT_COLUMNS =
  'id, attempt_no, pay_no, tenant_id, pay_way, channel, status, payload, payer_id, client_ip, channel_trade_no, created_at, updated_at, ' +
  'payer_channel_id, payer_account, paid_amount, paid_at, channel_records, fee, net_amount';

export interface PayAttemptRow {
  id: bigint;
  attempt_no: string;
  pay_no: string;
  tenant_id: string;
  pay_way: string;
  channel: string;
  status: AttemptStatus;
  payload: PayAttempt['payload'];
  payer_id: string;
  client_ip: string;
  channel_trade_no: string | null;
  created_at: Date;
  updated_at: Date;
  payer_channel_id: string | null;
  payer_account: string | null;
  paid_amount: bigint | null;
  paid_at: Date | null;
  channel_records: PayAttempt['channelRecords'];
  fee: bigint;
  net_amount: bigint;
}

export const toPayAttempt = (r: PayAttemptRow): PayAttempt => ({
  id: r.id,
  attemptNo: r.attempt_no,
  payNo: r.pay_no,
  tenantId: r.tenant_id,
  payWay: r.pay_way,
  channel: r.channel,
  status: r.status,
  payload: r.payload,
  payerId: r.payer_id,
  clientIp: r.client_ip,
  channelTradeNo: r.channel_trade_no,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  payerChannelId: r.payer_channel_id,
  payerAccount: r.payer_account,
  paidAmount: r.paid_amount,
  paidAt: r.paid_at,
  channelRecords: r.channel_records,
  fee: r.fee,
  netAmount: r.net_amount,
});

export const REFUND_COLUMNS =
  'id, refund_no, tenant_id, out_refund_no, pay_no, attempt_no, duplicate, amount, currency, reason, status, channel_refund_no, ' +
  'failure_reason, requested_by, created_at, updated_at, succeeded_at, channel_records, fee';

export interface RefundRow {
  id: bigint;
  refund_no: string;
  tenant_id: string;
  out_refund_no: string;
  pay_no: string;
  attempt_no: string;
  /** TINYINT(1) as the driver reads it. */
  duplicate: number | boolean;
  amount: bigint;
  currency: string;
  reason: string;
  status: RefundStatus;
  channel_refund_no: string | null;
  failure_reason: string | null;
  requested_by: string;
  created_at: Date;
  updated_at: Date;
  succeeded_at: Date | null;
  channel_records: Refund['channelRecords'];
  fee: bigint;
}

export const toRefund = (r: RefundRow): Refund => ({
  id: r.id,
  refundNo: r.refund_no,
  tenantId: r.tenant_id,
  outRefundNo: r.out_refund_no,
  payNo: r.pay_no,
  attemptNo: r.attempt_no,
  duplicate: Boolean(r.duplicate),
  amount: r.amount,
  currency: r.currency,
  reason: r.reason,
  status: r.status,
  channelRefundNo: r.channel_refund_no,
  failureReason: r.failure_reason,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  succeededAt: r.succeeded_at,
  channelRecords: r.channel_records,
  fee: r.fee,
});

export type { OrderTransition };

/** Oldest first: rows by their auto-increment id (a BIGINT), for readers that sort in JS rather than in SQL. */
export const byId = (x: { id: bigint }, y: { id: bigint }): number => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
