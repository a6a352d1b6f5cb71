import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError } from '../domain/errors';
import { MAX_AMOUNT, SUPPORTED_CURRENCIES } from '../domain/money';
import type { OrderRef as DomainOrderRef } from '../repo/pay-orders';
import type { OrderRef } from '../gen/payment/v1/types';

/**
 * Request validation. Every rule names the proto field it is about, so INVALID_ARGUMENT tells the caller
 * exactly what to fix; nothing is written before a request passes.
 */
const code = (max: number) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`), `must be 1-${max} characters of A-Z a-z 0-9 _ -`);
const optionalText = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const bytesAtMost = (max: number) =>
  z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= max, `must be at most ${max} bytes`);

export const tenantId = code(64);
export const amount = z
  .bigint()
  .refine((v) => v > 0n, 'must be a positive number of minor units')
  .refine((v) => v <= MAX_AMOUNT, `must be at most ${MAX_AMOUNT} minor units`);
export const currency = z.enum(SUPPORTED_CURRENCIES, { error: `must be one of ${SUPPORTED_CURRENCIES.join(', ')}` });
export const clientIp = z.string().refine((s) => s === '' || isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
export const returnUrl = z
  .string()
  .max(1024, 'must be at most 1024 characters')
  .refine((s) => s === '' || /^https?:\/\/[^\s]+$/.test(s), 'must be an http(s) URL');
export const notifyTopic = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,255}$/, 'must be 1-255 characters of A-Z a-z 0-9 . _ - (a queue name)');
export const attach = bytesAtMost(128);
export const extra = z
  .record(z.string().min(1).max(64), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= 32, 'must have at most 32 entries');
export const subject = z.string().min(1, 'is required').max(256, 'must be at most 256 characters');
export const description = optionalText(1024);
export const userId = optionalText(64);
export const reason = optionalText(256);
export const outOrderNo = code(64);
export const outRefundNo = code(64);
export const payerId = optionalText(128);
export const eventId = z.uuid({ error: 'must be an event id (a UUID)' });

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Parses `value` with `schema`, throwing InvalidArgumentError for the first issue, named by proto field path. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = [prefix, ...issue.path.map((p) => snake(String(p)))].filter(Boolean).join('.');
  throw new InvalidArgumentError(field || 'request', issue.message);
}

/** An order is named by tenant_id plus exactly one of pay_no and out_order_no. */
export function parseOrderRef(ref: OrderRef | undefined, field = 'order'): DomainOrderRef {
  if (!ref) throw new InvalidArgumentError(field, 'is required');
  const tenant = parse(tenantId, ref.tenantId, `${field}.tenant_id`);
  if (ref.payNo && ref.outOrderNo) throw new InvalidArgumentError(field, 'give pay_no or out_order_no, not both');
  if (ref.payNo) return { tenantId: tenant, payNo: parse(code(32), ref.payNo, `${field}.pay_no`) };
  if (ref.outOrderNo) return { tenantId: tenant, outOrderNo: parse(outOrderNo, ref.outOrderNo, `${field}.out_order_no`) };
  throw new InvalidArgumentError(field, 'needs pay_no or out_order_no');
}
