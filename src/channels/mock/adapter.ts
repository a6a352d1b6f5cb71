import type { ChannelAdapter, ChannelCloseAnswer, ChannelNotify, ChannelTradeAnswer } from '../channel-module';
import type {
  ChannelSaid,
  NotifyAck,
  PrepayPayload,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
} from '../types';
import type { MockAccount } from './account';
import { MockGatewayClient } from './gateway-client';
import { verifySignature } from './signature';
import { checkedRefundStatus, toChannelNotify, toTradeAnswer } from './transformers';
import { createTradeResponse, notifyBody, refundResponse, tradeResponse } from './wire';

const TERMINAL_TYPE = 'web';
/** channelStatus when the channel gave no answer at all. */
const NO_ANSWER = '';

/**
 * The mock channel's protocol: signed JSON over HTTP. Only a signed, explicit answer from the gateway is success
 * or fail; timeouts, network errors, 5xx and bad signatures are 'unknown'.
 */
export class MockAdapter implements ChannelAdapter<MockAccount> {
  constructor(private readonly timeoutMs: number) {}

  /** MOCK hands out the cashier link; MOCK_QR hands out the same link as QR code content. */
  async prepay(trade: TradeSnapshot, account: MockAccount, asQr: boolean, signal?: AbortSignal): Promise<PrepayResult> {
    const request = {
      mch_id: account.merchantId,
      out_trade_no: trade.attemptNo,
      amount: trade.amount.toString(),
      currency: trade.currency,
      subject: trade.subject,
      notify_url: notifyUrl(account, trade.tenantId),
      expire_at: trade.expireAt.toISOString(),
    };
    const r = await this.client(account).request('POST', '/v1/trades', createTradeResponse, request, signal);
    const said = mockSaid('POST /v1/trades', r);
    if (r.kind === 'ok') {
      const value = r.data.pay_url;
      const payload: PrepayPayload = asQr ? { kind: 'qrCodeUrl', value } : { kind: 'mockPayUrl', value };
      return { outcome: 'success', payload, channelTradeNo: r.data.trade_no, said };
    }
    return { outcome: r.kind === 'rejected' ? 'fail' : 'unknown', reason: r.reason, said };
  }

  /** A trade the channel has never heard of is not paid yet: 'pending'. */
  async query(trade: TradeSnapshot, account: MockAccount, signal?: AbortSignal): Promise<ChannelTradeAnswer> {
    const r = await this.client(account).request('GET', tradePath(trade.attemptNo), tradeResponse, undefined, signal);
    const said = mockSaid('GET /v1/trades/{out_trade_no}', r);
    if (r.kind === 'ok') return { ...toTradeAnswer(r.data), said };
    if (r.kind === 'rejected') {
      const outcome = r.code === 'TRADE_NOT_EXIST' ? 'pending' : 'unknown';
      return { outcome, channelStatus: r.code, reason: r.reason, fromError: true, said };
    }
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason, fromError: true, said };
  }

  /** TRADE_PAID is confirmed by a query in the guard. */
  async close(trade: TradeSnapshot, account: MockAccount, signal?: AbortSignal): Promise<ChannelCloseAnswer> {
    const r = await this.client(account).request('POST', `${tradePath(trade.attemptNo)}/close`, tradeResponse, undefined, signal);
    const said = mockSaid('POST /v1/trades/{out_trade_no}/close', r);
    if (r.kind === 'ok' && (r.data.out_trade_no !== trade.attemptNo || r.data.mch_id !== account.merchantId)) {
      return { outcome: 'unknown', reason: `close answered for out_trade_no ${r.data.out_trade_no} of merchant ${r.data.mch_id}`, said };
    }
    if (r.kind === 'ok' || (r.kind === 'rejected' && r.code === 'TRADE_NOT_EXIST')) return { outcome: 'closed', said };
    if (r.kind === 'rejected' && r.code === 'TRADE_PAID') return { outcome: 'paid', said };
    return { outcome: 'unknown', reason: r.reason, said };
  }

  async refund(refund: RefundSnapshot, account: MockAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const request = {
      out_trade_no: refund.attemptNo,
      out_refund_no: refund.refundNo,
      amount: refund.amount.toString(),
      total: refund.tradeAmount.toString(),
    };
    const r = await this.client(account).request('POST', '/v1/refunds', refundResponse, request, signal);
    const said = mockSaid('POST /v1/refunds', r);
    if (r.kind === 'ok') return { ...checkedRefundStatus(refund, r.data, account.merchantId), said };
    if (r.kind === 'rejected') return { outcome: 'fail', channelStatus: r.code, reason: r.reason, said };
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason, said };
  }

  /** A refund the channel has never heard of has not happened yet: 'pending', so it may be sent again. */
  async queryRefund(refund: RefundSnapshot, account: MockAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const path = `/v1/refunds/${encodeURIComponent(refund.refundNo)}`;
    const r = await this.client(account).request('GET', path, refundResponse, undefined, signal);
    const said = mockSaid('GET /v1/refunds/{out_refund_no}', r);
    if (r.kind === 'ok') return { ...checkedRefundStatus(refund, r.data, account.merchantId), said };
    if (r.kind === 'rejected') {
      const outcome = r.code === 'REFUND_NOT_EXIST' ? 'pending' : 'unknown';
      return { outcome, channelStatus: r.code, reason: r.reason, said };
    }
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason, said };
  }

  /** The body is parsed only once its signature checks out. */
  async verifyNotify(notify: RawNotify, account: MockAccount): Promise<ChannelNotify> {
    const check = verifySignature(account.secret, notify.headers, notify.rawBody);
    if (!check.valid) return { invalid: check.reason };
    let json: unknown;
    try {
      json = JSON.parse(notify.rawBody.toString('utf8'));
    } catch {
      return { invalid: 'notify body is not JSON' };
    }
    const parsed = notifyBody.safeParse(json);
    if (!parsed.success) return { invalid: `unrecognised notify: ${parsed.error.message}` };
    return toChannelNotify(parsed.data);
  }

  /** An unverifiable notify's out_trade_no, best effort: only ever used to ask the gateway about that trade. */
  notifyHint(notify: RawNotify): string | undefined {
    const v = (JSON.parse(notify.rawBody.toString('utf8')) as { out_trade_no?: unknown }).out_trade_no;
    return typeof v === 'string' ? v : undefined;
  }

  /** WeChat-like: 200 `{"code":"SUCCESS"}` stops the retries; anything else makes the channel try again. */
  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    const body = accepted ? { code: 'SUCCESS' } : { code: 'FAIL', message: reason ?? 'rejected' };
    return { status: accepted ? 200 : 500, contentType: 'application/json', body: JSON.stringify(body) };
  }

  private client(account: MockAccount): MockGatewayClient {
    return new MockGatewayClient({ gatewayUrl: account.gatewayUrl, secret: account.secret, timeoutMs: this.timeoutMs });
  }
}

/** What the gateway said, for the records: the API called and, for a refusal, its code (the reason carries its words). */
function mockSaid(endpoint: string, r: { kind: string; code?: string }): ChannelSaid {
  return r.kind === 'rejected' && r.code ? { endpoint, code: r.code } : { endpoint };
}

function tradePath(attemptNo: string): string {
  return `/v1/trades/${encodeURIComponent(attemptNo)}`;
}

function notifyUrl(account: MockAccount, tenantId: string): string {
  return `${account.notifyBaseUrl.replace(/\/+$/, '')}/notify/mock/${encodeURIComponent(tenantId)}/${TERMINAL_TYPE}`;
}
