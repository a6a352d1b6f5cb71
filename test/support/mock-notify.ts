import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { uniq, type Harness } from './harness';

/**
 * The mock channel's TRADE.SUCCESS notify for an attempt, as its gateway sends one (JSON text): the merchant and
 * amount of the trade the gateway holds for it; `over` replaces or adds fields (for a trade the gateway never made,
 * or a hostile variant).
 */
export function mockPaymentNotify(h: Harness, attemptNo: string, over: Record<string, unknown> = {}): string {
  const trade = h.gateway.trade(attemptNo);
  return JSON.stringify({
    notify_id: uniq('N'),
    event: 'TRADE.SUCCESS',
    mch_id: trade?.mch_id,
    out_trade_no: attemptNo,
    trade_no: `MT${attemptNo}`,
    amount: trade?.amount,
    currency: 'CNY',
    paid_at: new Date().toISOString(),
    ...over,
  });
}

/** POSTs a mock notify body to the sidecar's route for the tenant, signed with the harness's mock secret. */
export function postMockNotify(h: Harness, tenant: string, body: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${h.notifyBaseUrl}/notify/mock/${tenant}/web`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...buildSignedHeaders(h.mockSecret, body) },
    body,
    signal,
  });
}
