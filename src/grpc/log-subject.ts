/** What an RPC's log lines name besides the rpc and request id: the tenant and the order, when known. */
export interface LogSubject {
  tenantId?: string;
  payNo?: string;
}

const TOKEN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The tenant and pay no of a call, read from the request (`tenant_id`, or `order` with its `key` oneof) or else from the response
 * (`order`, `refund`). Only short plain tokens are kept: these are ids, never payloads or secrets.
 */
export function logSubject(req: unknown, res?: unknown): LogSubject {
  const r = req as Shape | undefined;
  const out = res as Shape | undefined;
  const tenantId = token(r?.tenantId) ?? token(r?.order?.tenantId) ?? token(out?.order?.tenantId) ?? token(out?.refund?.tenantId);
  const key = r?.order?.key;
  const payNo = token(key?.$case === 'payNo' ? key.value : undefined) ?? token(out?.order?.payNo) ?? token(out?.refund?.payNo);
  return { ...(tenantId && { tenantId }), ...(payNo && { payNo }) };
}

interface Shape {
  tenantId?: unknown;
  order?: { tenantId?: unknown; payNo?: unknown; key?: { $case?: unknown; value?: unknown } };
  refund?: { tenantId?: unknown; payNo?: unknown };
}

const token = (v: unknown): string | undefined => (typeof v === 'string' && TOKEN.test(v) ? v : undefined);
