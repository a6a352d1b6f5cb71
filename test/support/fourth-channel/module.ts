import { z } from 'zod';
import type {
  ChannelAdapter,
  ChannelCloseAnswer,
  ChannelModule,
  ChannelNotify,
  ChannelTradeAnswer,
  PrepayStrategy,
} from '../../../src/channels/channel-module';
import { defineChannel } from '../../../src/channels/channel-module';
import type {
  ChannelAccount,
  NotifyAck,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
} from '../../../src/channels/types';
import { type LanternNotify, type LanternRefund, type LanternTrade, SIGNATURE_HEADER, sign, signatureValid } from './protocol';

/** A tenant's Lantern Pay account. */
export interface LanternAccount extends ChannelAccount {
  channel: 'lantern';
  merchant: string;
  key: string;
  gatewayUrl: string;
  notifyBaseUrl: string;
}

const lanternAccountSchema = z.object({
  channel: z.literal('lantern'),
  merchant: z.string().regex(/^LM\d{4,}$/),
  key: z.string().min(16),
  gatewayUrl: z.url(),
  notifyBaseUrl: z.url(),
}) satisfies z.ZodType<LanternAccount>;

/** The pay way the proto does not define: it travels as its own number. */
export const LANTERN_LINK = 900;

/** What one signed call came to: a status and a parsed body; anything unsigned or unreadable is thrown. */
async function call(
  account: LanternAccount,
  timeoutMs: number,
  method: 'GET' | 'POST',
  path: string,
  payload?: object,
  signal?: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = payload === undefined ? '' : JSON.stringify(payload);
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(`${account.gatewayUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(account.key, `${method} ${path}`, body) },
    body: payload === undefined ? undefined : body,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  if (!signatureValid(account.key, 'answer', raw, res.headers.get(SIGNATURE_HEADER) ?? undefined)) {
    throw new Error(`unsigned answer (HTTP ${res.status})`);
  }
  return { status: res.status, body: JSON.parse(raw.toString('utf8')) as Record<string, unknown> };
}

const OUTCOMES = { WAITING: 'pending', PAID: 'success', CLOSED: 'fail' } as const;

class LanternAdapter implements ChannelAdapter<LanternAccount> {
  constructor(private readonly timeoutMs: number) {}

  async query(trade: TradeSnapshot, account: LanternAccount, signal?: AbortSignal): Promise<ChannelTradeAnswer> {
    const r = await call(account, this.timeoutMs, 'GET', `/trades/${trade.attemptNo}`, undefined, signal);
    if (r.status === 404) return { outcome: 'pending', channelStatus: 'NO_TRADE', fromError: true };
    if (r.status !== 200) return { outcome: 'unknown', channelStatus: String(r.body.error), fromError: true };
    const t = r.body as unknown as LanternTrade;
    const outcome = OUTCOMES[t.status];
    return {
      outcome,
      channelStatus: t.status,
      outTradeNo: t.out_trade_no,
      merchantId: t.merchant,
      currency: t.currency,
      ...(outcome === 'success' && { paidAmount: BigInt(t.amount) }),
      ...(outcome === 'fail' && { closedUnpaid: true }),
    };
  }

  async close(trade: TradeSnapshot, account: LanternAccount, signal?: AbortSignal): Promise<ChannelCloseAnswer> {
    const r = await call(account, this.timeoutMs, 'POST', `/trades/${trade.attemptNo}/close`, {}, signal);
    if (r.status === 200 || r.status === 404) return { outcome: 'closed' };
    if (r.status === 409 && r.body.error === 'PAID') return { outcome: 'paid' };
    return { outcome: 'unknown', reason: `close answered HTTP ${r.status}` };
  }

  async refund(refund: RefundSnapshot, account: LanternAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const request = { out_trade_no: refund.attemptNo, out_refund_no: refund.refundNo, amount: refund.amount.toString() };
    const r = await call(account, this.timeoutMs, 'POST', '/refunds', request, signal);
    if (r.status === 400) return { outcome: 'fail', channelStatus: String(r.body.error) };
    return this.refundAnswer(refund, account, r);
  }

  async queryRefund(refund: RefundSnapshot, account: LanternAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const r = await call(account, this.timeoutMs, 'GET', `/refunds/${refund.refundNo}`, undefined, signal);
    if (r.status === 404) return { outcome: 'pending', channelStatus: 'NO_REFUND' };
    return this.refundAnswer(refund, account, r);
  }

  async verifyNotify(notify: RawNotify, account: LanternAccount): Promise<ChannelNotify> {
    if (!signatureValid(account.key, 'notify', notify.rawBody, notify.headers[SIGNATURE_HEADER])) return { invalid: 'bad signature' };
    const n = JSON.parse(notify.rawBody.toString('utf8')) as LanternNotify;
    return {
      notify: {
        kind: 'payment',
        notifyId: n.notify_id,
        attemptNo: n.out_trade_no,
        status: {
          outcome: 'success',
          channelStatus: 'PAID',
          paidAmount: BigInt(n.amount),
          currency: n.currency,
          paidAt: new Date(n.paid_at),
        },
      },
      identity: { outTradeNo: n.out_trade_no, merchantId: n.merchant },
    };
  }

  notifyHint(notify: RawNotify): string | undefined {
    const v = (JSON.parse(notify.rawBody.toString('utf8')) as { out_trade_no?: unknown }).out_trade_no;
    return typeof v === 'string' ? v : undefined;
  }

  ackNotify(accepted: boolean): NotifyAck {
    return accepted ? { status: 200, contentType: 'text/plain', body: 'OK' } : { status: 400, contentType: 'text/plain', body: 'RETRY' };
  }

  private refundAnswer(
    refund: RefundSnapshot,
    account: LanternAccount,
    r: { status: number; body: Record<string, unknown> },
  ): RefundStatusResult {
    if (r.status !== 200) return { outcome: 'unknown', channelStatus: String(r.body.error), reason: `HTTP ${r.status}` };
    const a = r.body as unknown as LanternRefund;
    const same =
      a.merchant === account.merchant &&
      a.out_trade_no === refund.attemptNo &&
      a.out_refund_no === refund.refundNo &&
      a.amount === refund.amount.toString();
    if (!same) return { outcome: 'unknown', channelStatus: a.status, reason: 'integrity check failed: another refund' };
    return { outcome: 'success', channelStatus: a.status };
  }
}

/** LANTERN_LINK: the gateway opens the trade and hands back the link the buyer follows. */
function linkPay(timeoutMs: number): PrepayStrategy<LanternAccount> {
  return {
    async prepay(trade, account, signal): Promise<PrepayResult> {
      const notifyUrl = `${account.notifyBaseUrl}/notify/lantern/${encodeURIComponent(trade.tenantId)}/link`;
      const request = {
        merchant: account.merchant,
        out_trade_no: trade.attemptNo,
        amount: trade.amount.toString(),
        currency: trade.currency,
        notify_url: notifyUrl,
      };
      const r = await call(account, timeoutMs, 'POST', '/trades', request, signal);
      if (r.status === 200) return { outcome: 'success', payload: { kind: 'redirectUrl', value: String(r.body.pay_url) } };
      return { outcome: r.status === 409 ? 'fail' : 'unknown', reason: String(r.body.error) };
    },
  };
}

export const lanternChannel: ChannelModule = defineChannel<LanternAccount>({
  name: 'lantern',
  notify: {
    pathSegment: 'lantern',
    contentType: 'application/json',
    maxBodyBytes: 8 * 1024,
    keptHeaders: /^x-lantern-.*$/i,
    signatureHeaders: [SIGNATURE_HEADER],
  },
  account: {
    schema: lanternAccountSchema,
    secretFields: ['key'],
    identity: (a) => ({ appId: '', merchantId: a.merchant }),
  },
  carriedIdentity: {
    paymentNotify: ['outTradeNo', 'merchantId'],
    refundNotify: ['outTradeNo', 'merchantId'],
    query: ['outTradeNo', 'merchantId'],
  },
  payWays: [
    {
      code: 'LANTERN_LINK',
      name: 'Lantern Pay (pay link)',
      protoNumber: LANTERN_LINK,
      defaultFeeRateBps: 25,
      requiredInputs: [],
      supportsQr: false,
      supportsRefund: true,
    },
  ],
  create: ({ timeoutMs }) => ({ adapter: new LanternAdapter(timeoutMs), prepay: { LANTERN_LINK: linkPay(timeoutMs) } }),
});
