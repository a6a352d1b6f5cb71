import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError } from '../domain/errors';
import * as ids from '../domain/identifiers';
import { AUTOMATIC_REFUND_PREFIXES } from '../domain/automatic-refunds';
import { MAX_AMOUNT, SUPPORTED_CURRENCIES } from '../domain/money';
import type { OrderRef as DomainOrderRef } from '../repo/pay-orders';
import type { OrderRef } from '../gen/payment/v1/types';

/**
 * Request validation. Every rule names the proto field it is about, so INVALID_ARGUMENT tells the caller
 * exactly what to fix; nothing is written before a request passes. Identifiers follow src/domain/identifiers.ts
 * and are never trimmed or case-folded; free text holds no control characters.
 */
const matching = (pattern: RegExp, rule: string) => z.string().regex(pattern, rule);
/** Free text of at most `max` characters: any Unicode but control characters and undecodable bytes. */
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((s, ctx) => {
      const problem = ids.textProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
const bytesAtMost = (max: number) => z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= max, `must be at most ${max} bytes`);

export const tenantId = matching(ids.TENANT_ID, 'must be 1-64 characters of A-Z a-z 0-9 _ - (case matters)');
export const outOrderNo = matching(ids.CALLER_NO, 'must be 1-64 characters of A-Z a-z 0-9 _ - (case matters)');
export const outRefundNo = outOrderNo;
/** A caller's new refund: `AUTO-` and `DUP-` numbers are the service's own (see src/domain/automatic-refunds.ts). */
export const newOutRefundNo = outRefundNo.refine(
  (s) => !AUTOMATIC_REFUND_PREFIXES.some((p) => s.startsWith(p)),
  `must not start with ${AUTOMATIC_REFUND_PREFIXES.join(' or ')} (reserved for automatic refunds)`,
);
export const payNo = matching(ids.SERVICE_NO, 'must be 1-32 characters of 0-9 A-Z, exactly as CreateOrder returned it');
/** Refund's attempt_no: unset or empty for the order's payment, or an attempt number exactly as Prepay returned it. */
export const optionalAttemptNo = z
  .string()
  .optional()
  .refine((s) => !s || ids.SERVICE_NO.test(s), 'must be empty or 1-32 characters of 0-9 A-Z, exactly as Prepay returned it')
  .transform((s) => s || undefined);
export const eventId = matching(ids.EVENT_ID, 'must be an event id exactly as events carry it: a lowercase UUID');
export const notifyTopic = matching(ids.NOTIFY_TOPIC, 'must be 1-255 characters of A-Z a-z 0-9 . _ - (a queue name)');
export const userId = matching(ids.USER_ID, 'must be at most 64 visible ASCII characters, no spaces');
export const payerId = matching(ids.PAYER_ID, 'must be at most 128 characters of A-Z a-z 0-9 _ -');
export const amount = z
  .bigint()
  .refine((v) => v > 0n, 'must be a positive number of minor units')
  .refine((v) => v <= MAX_AMOUNT, `must be at most ${MAX_AMOUNT} minor units`);
export const currency = z.enum(SUPPORTED_CURRENCIES, { error: `must be one of ${SUPPORTED_CURRENCIES.join(', ')}` });
export const clientIp = z.string().refine((s) => s === '' || isIP(s) !== 0, 'must be an IPv4 or IPv6 address');
export const returnUrl = text(1024).refine((s) => s === '' || /^https?:\/\/[^\s]+$/.test(s), 'must be an http(s) URL');
export const attach = text(128).pipe(bytesAtMost(128));
export const extra = z
  .record(text(64).min(1, 'keys must not be empty'), text(1024))
  .refine((m) => Object.keys(m).length <= 32, 'must have at most 32 entries');
/** Not blank: WeChat Pay's description is the trimmed subject, and an empty one is refused at Prepay. */
export const subject = text(256)
  .min(1, 'is required')
  .refine((s) => s.trim() !== '', 'must not be blank');
export const description = text(1024);
export const reason = text(256);

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** Path segments that can name a field in `field` metadata (printable ASCII); a map key beyond these ends the path. */
const NAMEABLE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses `value` with `schema`, throwing InvalidArgumentError for the first issue, named by proto field path
 * (`extra.<key>` for a map value). A bad map key is named by its map: the key itself may be what is wrong.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const badKey = issue.code === 'invalid_key';
  const path = (badKey ? issue.path.slice(0, -1) : issue.path).map(String);
  const end = path.findIndex((p) => !NAMEABLE.test(p));
  const field = [prefix, ...path.slice(0, end === -1 ? undefined : end).map(snake)].filter(Boolean).join('.');
  const message = badKey ? `keys ${issue.issues[0]?.message ?? 'are invalid'}` : issue.message;
  throw new InvalidArgumentError(field || 'request', message);
}

/**
 * An order is named by tenant_id plus the one key of its `key` oneof, pay_no or out_order_no. A request that
 * carried both on the wire arrives as the last one (protobuf's rule), so there is no "both" to refuse here.
 */
export function parseOrderRef(ref: OrderRef | undefined, field = 'order'): DomainOrderRef {
  if (!ref) throw new InvalidArgumentError(field, 'is required');
  const tenant = parse(tenantId, ref.tenantId, `${field}.tenant_id`);
  switch (ref.key?.$case) {
    case 'payNo':
      return { tenantId: tenant, payNo: parse(payNo, ref.key.value, `${field}.pay_no`) };
    case 'outOrderNo':
      return { tenantId: tenant, outOrderNo: parse(outOrderNo, ref.key.value, `${field}.out_order_no`) };
    case undefined:
      throw new InvalidArgumentError(field, 'needs pay_no or out_order_no');
  }
}
