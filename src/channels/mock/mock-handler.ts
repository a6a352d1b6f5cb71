import type {
  ChannelCall,
  CloseResult,
  NotifyAck,
  NotifyVerification,
  PayOrderHandler,
  PrepayPayload,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  TradeStatus,
} from '../types';
import { MockGatewayClient } from './gateway-client';
import { NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from './signature';
import { checkedRefundStatus, checkedTradeStatus, toVerifiedNotify } from './transformers';
import { createTradeResponse, notifyBody, refundResponse, tradeResponse } from './wire';

export interface MockPayHandlerOptions {
  /** Base URL of the mock gateway, e.g. http://127.0.0.1:9100. */
  gatewayUrl: string;
  /** Shared HMAC secret, for requests, responses and notifies alike. */
  secret: string;
  /** Public base URL of our notify sidecar; the notify_url is built under it. */
  notifyBaseUrl: string;
  /** Per-call limit; the call's own signal may end it sooner. */
  timeoutMs: number;
  /** MOCK (default) hands out the cashier link; MOCK_QR hands out the same link as QR code content. */
  payWay?: 'MOCK' | 'MOCK_QR';
}

const TERMINAL_TYPE = 'web';
/** channelStatus when the channel gave no answer at all. */
const NO_ANSWER = '';

/**
 * The mock channel's handler. Only a signed, explicit answer from the gateway is success or fail;
 * timeouts, network errors, 5xx and bad signatures are 'unknown'.
 */
export class MockPayHandler implements PayOrderHandler {
  readonly payWay: 'MOCK' | 'MOCK_QR';
  readonly channel = 'mock' as const;
  readonly supportsQr: boolean;
  readonly supportsRefund = true;
  readonly requiredInputs = [];
  readonly notifySignatureHeaders: readonly string[] = [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER].map((h) => h.toLowerCase());
  private readonly client: MockGatewayClient;

  constructor(private readonly opts: MockPayHandlerOptions) {
    this.payWay = opts.payWay ?? 'MOCK';
    this.supportsQr = this.payWay === 'MOCK_QR';
    this.client = new MockGatewayClient(opts);
  }

  async prepay(trade: TradeSnapshot, call: ChannelCall): Promise<PrepayResult> {
    const request = {
      out_trade_no: trade.attemptNo,
      amount: trade.amount.toString(),
      currency: trade.currency,
      subject: trade.subject,
      notify_url: this.notifyUrl(trade.tenantId),
      expire_at: trade.expireAt.toISOString(),
    };
    const r = await this.client.request('POST', '/v1/trades', createTradeResponse, request, call.signal);
    if (r.kind === 'ok') {
      const value = r.data.pay_url;
      const payload: PrepayPayload = this.supportsQr ? { kind: 'qrCodeUrl', value } : { kind: 'mockPayUrl', value };
      return { outcome: 'success', payload, channelTradeNo: r.data.trade_no };
    }
    return { outcome: r.kind === 'rejected' ? 'fail' : 'unknown', reason: r.reason };
  }

  /** A trade the channel has never heard of is not paid yet: 'pending'. */
  async query(trade: TradeSnapshot, call: ChannelCall): Promise<TradeStatus> {
    const r = await this.client.request('GET', tradePath(trade.attemptNo), tradeResponse, undefined, call.signal);
    if (r.kind === 'ok') return checkedTradeStatus(trade, r.data);
    if (r.kind === 'rejected') {
      const outcome = r.code === 'TRADE_NOT_EXIST' ? 'pending' : 'unknown';
      return { outcome, channelStatus: r.code, reason: r.reason };
    }
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason };
  }

  /** A paid trade is reported with its queried status; without a successful query that stays 'unknown'. */
  async close(trade: TradeSnapshot, call: ChannelCall): Promise<CloseResult> {
    const path = `${tradePath(trade.attemptNo)}/close`;
    const r = await this.client.request('POST', path, tradeResponse, undefined, call.signal);
    if (r.kind === 'ok' && r.data.out_trade_no !== trade.attemptNo) {
      return { outcome: 'unknown', reason: `close answered for out_trade_no ${r.data.out_trade_no}` };
    }
    if (r.kind === 'ok' || (r.kind === 'rejected' && r.code === 'TRADE_NOT_EXIST')) return { outcome: 'closed' };
    if (r.kind === 'rejected' && r.code === 'TRADE_PAID') {
      const status = await this.query(trade, call);
      if (status.outcome === 'success') return { outcome: 'paid', status };
      const said = `${status.outcome}: ${status.reason ?? status.channelStatus}`;
      return { outcome: 'unknown', reason: `close refused as paid, but query said ${said}` };
    }
    return { outcome: 'unknown', reason: r.reason };
  }

  async refund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    const request = {
      out_trade_no: refund.attemptNo,
      out_refund_no: refund.refundNo,
      amount: refund.amount.toString(),
      total: refund.tradeAmount.toString(),
    };
    const r = await this.client.request('POST', '/v1/refunds', refundResponse, request, call.signal);
    if (r.kind === 'ok') return checkedRefundStatus(refund, r.data);
    if (r.kind === 'rejected') return { outcome: 'fail', channelStatus: r.code, reason: r.reason };
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason };
  }

  /** A refund the channel has never heard of has not happened yet: 'pending', so it may be sent again. */
  async queryRefund(refund: RefundSnapshot, call: ChannelCall): Promise<RefundStatusResult> {
    const path = `/v1/refunds/${encodeURIComponent(refund.refundNo)}`;
    const r = await this.client.request('GET', path, refundResponse, undefined, call.signal);
    if (r.kind === 'ok') return checkedRefundStatus(refund, r.data);
    if (r.kind === 'rejected') {
      const outcome = r.code === 'REFUND_NOT_EXIST' ? 'pending' : 'unknown';
      return { outcome, channelStatus: r.code, reason: r.reason };
    }
    return { outcome: 'unknown', channelStatus: NO_ANSWER, reason: r.reason };
  }

  /** The body is parsed only once its signature checks out. */
  async verifyNotify(notify: RawNotify): Promise<NotifyVerification> {
    const check = verifySignature(this.opts.secret, notify.headers, notify.rawBody);
    if (!check.valid) return { valid: false, reason: check.reason, attemptNo: outTradeNoHint(notify.rawBody) };
    let json: unknown;
    try {
      json = JSON.parse(notify.rawBody.toString('utf8'));
    } catch {
      return { valid: false, reason: 'notify body is not JSON' };
    }
    const parsed = notifyBody.safeParse(json);
    if (!parsed.success) return { valid: false, reason: `unrecognised notify: ${parsed.error.message}` };
    return { valid: true, notify: toVerifiedNotify(parsed.data) };
  }

  /** WeChat-like: 200 `{"code":"SUCCESS"}` stops the retries; anything else makes the channel try again. */
  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    const body = accepted ? { code: 'SUCCESS' } : { code: 'FAIL', message: reason ?? 'rejected' };
    return { status: accepted ? 200 : 500, contentType: 'application/json', body: JSON.stringify(body) };
  }

  private notifyUrl(tenantId: string): string {
    const base = this.opts.notifyBaseUrl.replace(/\/+$/, '');
    return `${base}/notify/mock/${encodeURIComponent(tenantId)}/${TERMINAL_TYPE}`;
  }
}

function tradePath(attemptNo: string): string {
  return `/v1/trades/${encodeURIComponent(attemptNo)}`;
}

/** An unverifiable notify's out_trade_no, best effort: only ever used to ask the gateway about that trade. */
function outTradeNoHint(rawBody: Buffer): string | undefined {
  try {
    const v = (JSON.parse(rawBody.toString('utf8')) as { out_trade_no?: unknown }).out_trade_no;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
