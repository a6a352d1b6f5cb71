import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgumentError } from '../domain/errors';
import type { OrderCursor, OrderFilter } from '../repo/order-queries';

/**
 * ListOrders' page token: base64url of JSON {t: created_at in ms, i: id} of the last order served, plus a short
 * digest of the filters it was served under, so a token is refused rather than misread under other filters.
 * Opaque to callers; only this file reads or writes it.
 */
const tokenBody = z.object({
  t: z.number().int().nonnegative(),
  i: z.string().regex(/^[0-9]{1,20}$/),
  f: z.string(),
});

export function encodePageToken(last: OrderCursor, filter: OrderFilter): string {
  const body: z.infer<typeof tokenBody> = { t: last.createdAt.getTime(), i: last.id.toString(), f: digest(filter) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodePageToken(token: string, filter: OrderFilter): OrderCursor {
  const body = /^[A-Za-z0-9_-]{1,512}$/.test(token)
    ? tokenBody.safeParse(parseJson(Buffer.from(token, 'base64url').toString('utf8')))
    : undefined;
  if (!body?.success) throw new InvalidArgumentError('page_token', 'is not a token ListOrders returned');
  if (body.data.f !== digest(filter)) throw new InvalidArgumentError('page_token', 'was returned for other filters');
  return { createdAt: new Date(body.data.t), id: BigInt(body.data.i) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function digest(f: OrderFilter): string {
  const canonical = JSON.stringify([
    f.tenantId,
    f.userId ?? '',
    [...f.statuses].sort(),
    [...f.payWays].sort(),
    f.createdFrom?.getTime() ?? null,
    f.createdTo?.getTime() ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 11);
}
