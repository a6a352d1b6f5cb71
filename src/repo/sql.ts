import type { Pool } from 'mariadb';
import type { PayOrder } from '../generated/prisma/client';

/**
 * The hot statements run on the mariadb driver pool directly (sqlPool in src/infra/db.ts), without Prisma's
 * per-query layer. These helpers keep their values exactly as Prisma reads and writes them: DATETIME(3) holds UTC
 * wall time (Prisma's convention), BIGINT is a bigint, JSON a parsed value.
 */

/**
 * The driver's options for every hot statement: DATETIMEs come back as text, read here as UTC (the pool's
 * timezone is the process's, which Prisma never uses either). BIGINTs are bigints by the pool's own settings.
 */
export const HOT = { dateStrings: true } as const;

/** Runs one statement with the binary protocol; the driver keeps it prepared per connection (its prepare cache). */
export function run<T>(pool: Pool, sql: string, values: unknown[]): Promise<T> {
  return pool.execute<T>({ sql, ...HOT }, values);
}

/** A Date as DATETIME(3) text in UTC, the way Prisma writes it. */
export const toDateTime = (d: Date): string => d.toISOString().slice(0, 23).replace('T', ' ');

/** DATETIME text ('YYYY-MM-DD HH:MM:SS[.fff]', UTC wall time) as a Date. */
export function fromDateTime(text: string): Date {
  return new Date(
    Date.UTC(
      +text.slice(0, 4),
      +text.slice(5, 7) - 1,
      +text.slice(8, 10),
      +text.slice(11, 13),
      +text.slice(14, 16),
      +text.slice(17, 19),
      text.length > 20 ? +text.slice(20, 23).padEnd(3, '0') : 0,
    ),
  );
}

const nullableDateTime = (text: string | null): Date | null => (text === null ? null : fromDateTime(text));

/** A JSON column: the driver parses it when the server marks it as JSON, and hands back the text otherwise. */
export const fromJson = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/** MySQL error 1062: the row would repeat a unique key. */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: unknown }).errno === 1062;
}

/** pay_order's columns under their model names (alias `o`), in the model's order. */
export const PAY_ORDER_COLUMNS = `o.id, o.pay_no AS payNo, o.tenant_id AS tenantId, o.out_order_no AS outOrderNo, o.amount,
  o.currency, o.subject, o.description, o.user_id AS userId, o.pay_way AS payWay, o.status, o.notify_topic AS notifyTopic,
  o.attach, o.extra, o.client_ip AS clientIp, o.return_url AS returnUrl, o.expire_seconds AS expireSeconds,
  o.expire_at AS expireAt, o.refunded_amount AS refundedAmount, o.refund_pending_amount AS refundPendingAmount,
  o.channel_trade_no AS channelTradeNo, o.paid_at AS paidAt, o.close_reason AS closeReason, o.version,
  o.pay_way_switches AS payWaySwitches, o.created_at AS createdAt, o.updated_at AS updatedAt`;

/** A pay_order row as the driver returns PAY_ORDER_COLUMNS (under HOT): the model with its times as text. */
export type PayOrderRow = Omit<PayOrder, 'expireAt' | 'paidAt' | 'createdAt' | 'updatedAt'> & {
  expireAt: string;
  paidAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/** The row as Prisma's PayOrder. */
export function toPayOrder(r: PayOrderRow): PayOrder {
  return {
    id: r.id,
    payNo: r.payNo,
    tenantId: r.tenantId,
    outOrderNo: r.outOrderNo,
    amount: r.amount,
    currency: r.currency,
    subject: r.subject,
    description: r.description,
    userId: r.userId,
    payWay: r.payWay,
    status: r.status,
    notifyTopic: r.notifyTopic,
    attach: r.attach,
    extra: fromJson(r.extra),
    clientIp: r.clientIp,
    returnUrl: r.returnUrl,
    expireSeconds: r.expireSeconds,
    expireAt: fromDateTime(r.expireAt),
    refundedAmount: r.refundedAmount,
    refundPendingAmount: r.refundPendingAmount,
    channelTradeNo: r.channelTradeNo,
    paidAt: nullableDateTime(r.paidAt),
    closeReason: r.closeReason,
    version: r.version,
    payWaySwitches: r.payWaySwitches,
    createdAt: fromDateTime(r.createdAt),
    updatedAt: fromDateTime(r.updatedAt),
  };
}
