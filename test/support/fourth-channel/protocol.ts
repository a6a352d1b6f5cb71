import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * "Lantern Pay", a made-up fourth channel that lives only in test/: signed JSON over HTTP. Every request,
 * response and notify carries `x-lantern-signature`, the hex HMAC-SHA256 of `${what}\n${body}` under the
 * merchant's key, where `what` is `METHOD path` for a request and `answer` / `notify` otherwise.
 */
export const SIGNATURE_HEADER = 'x-lantern-signature';

export function sign(key: string, what: string, body: string | Buffer): string {
  return createHmac('sha256', key).update(`${what}\n`).update(body).digest('hex');
}

export function signatureValid(key: string, what: string, body: string | Buffer, given: string | undefined): boolean {
  if (!given || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = Buffer.from(sign(key, what, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

export type LanternTradeStatus = 'WAITING' | 'PAID' | 'CLOSED';

export interface LanternTrade {
  merchant: string;
  out_trade_no: string;
  status: LanternTradeStatus;
  amount: string;
  currency: string;
}

export interface LanternRefund {
  merchant: string;
  out_trade_no: string;
  out_refund_no: string;
  amount: string;
  status: 'DONE';
}

export interface LanternNotify {
  notify_id: string;
  event: 'PAID';
  merchant: string;
  out_trade_no: string;
  amount: string;
  currency: string;
  paid_at: string;
}
