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

/**
 * The page token of the other lists (ListEvents, ListNotifies, ListRefunds): base64url of JSON {k: the sort key of
 * the last row served, as strings; f: a digest of the list's name and scope (tenant, order)}. A token is refused
 * under another list or scope rather than misread. Opaque to callers; only this file reads or writes it.
 */
const keyTokenBody = z.object({ k: z.array(z.string().max(64)).min(1).max(4), f: z.string() });

export function encodeKeyToken(list: string, scope: readonly string[], key: readonly string[]): string {
  const body: z.infer<typeof keyTokenBody> = { k: [...key], f: scopeDigest(list, scope) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** A row id (a BIGINT) as a sort key part. */
export const ROW_ID = /^[0-9]{1,20}$/;

/** The sort key a token names, each part checked against its shape. */
export function decodeKeyToken(list: string, scope: readonly string[], token: string, shape: readonly RegExp[]): string[] {
  const body = /^[A-Za-z0-9_-]{1,512}$/.test(token)
    ? keyTokenBody.safeParse(parseJson(Buffer.from(token, 'base64url').toString('utf8')))
    : undefined;
  const key = body?.success ? body.data.k : [];
  if (!body?.success || key.length !== shape.length || !shape.every((re, i) => re.test(key[i])))
    throw new InvalidArgumentError('page_token', `is not a token ${list} returned`);
  if (body.data.f !== scopeDigest(list, scope)) throw new InvalidArgumentError('page_token', 'was returned for another order or tenant');
  return body.data.k;
}

const scopeDigest = (list: string, scope: readonly string[]) =>
  createHash('sha256')
    .update(JSON.stringify([list, ...scope]))
    .digest('base64url')
    .slice(0, 11);

/** One page of a keyset list: `rows` holds up to size + 1 rows (one more tells if a page follows). */
export function pageOf<T>(rows: T[], size: number, token: (last: T) => string): { items: T[]; nextPageToken: string } {
  const items = rows.slice(0, size);
  return { items, nextPageToken: rows.length > size ? token(items[items.length - 1]) : '' };
}

/** What a caller asks of a keyset list: how many, and from where ('' for the first page). */
export interface PageRequest {
  pageSize: number;
  pageToken: string;
}
