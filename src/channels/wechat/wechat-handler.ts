import type { Wechatpay } from 'wechatpay-axios-plugin';
import type { z } from 'zod';
import {
  AbstractPayOrderHandler,
  type CarriedIdentity,
  type ChannelCloseAnswer,
  type ChannelNotify,
  type ChannelTradeAnswer,
} from '../base-handler';
import type {
  NotifyAck,
  PrepayPayload,
  PrepayResult,
  RawNotify,
  RefundSnapshot,
  RefundStatusResult,
  TradeSnapshot,
  WechatAccount,
} from '../types';
import {
  errorOf,
  sharedWechatClients,
  WechatApi,
  type WechatClients,
  type WechatReply,
  type WechatRequestConfig,
} from './client';
import { NOTIFY_HEADERS, verifyWechatNotify } from './notify';
import { decryptResource, randomNonce } from './signing';
import {
  buildPrepayRequest,
  buildRefundRequest,
  checkedRefundStatus,
  errorVerdict,
  OUT_NO,
  type TerminalType,
  toTradeAnswer,
} from './transformers';
import { type NotifyResource, type PrepayBody, refund, transaction } from './wire';

export interface WechatHandlerOptions {
  /** Per-call limit; the call's own signal may end it sooner. */
  timeoutMs: number;
  /** Client cache; all handlers share one by default. */
  clients?: WechatClients;
}

/**
 * What the four WeChat Pay v3 pay ways share: query, close, refund, refund query, notify verification and
 * its acknowledgement. A subclass only says how to prepay and what to hand the buyer's client. Only a
 * signed, expected answer is success or fail; the base turns every thrown error into 'unknown'.
 */
export abstract class WechatHandler extends AbstractPayOrderHandler<WechatAccount> {
  readonly channel = 'wechat' as const;
  readonly notifySignatureHeaders: readonly string[] = [...Object.values(NOTIFY_HEADERS), 'wechatpay-signature-type'];
  /** A Transaction names app, merchant and trade; a refund resource names merchant and trade (it has no appid). */
  protected readonly carriedIdentity: CarriedIdentity = {
    paymentNotify: ['outTradeNo', 'appId', 'merchantId'],
    refundNotify: ['outTradeNo', 'merchantId'],
    query: ['outTradeNo', 'appId', 'merchantId'],
  };
  protected abstract readonly terminal: TerminalType;
  protected readonly api: WechatApi;

  constructor(opts: WechatHandlerOptions) {
    super();
    this.api = new WechatApi(opts.timeoutMs, opts.clients ?? sharedWechatClients);
  }

  /** POSTs the body to this pay way's prepay endpoint. */
  protected abstract sendPrepay(wx: Wechatpay, body: PrepayBody, config: WechatRequestConfig): Promise<WechatReply>;

  /** The buyer's client payload from a 200 prepay answer; throws (→ unknown) when the answer is malformed. */
  protected abstract toPayload(data: unknown, trade: TradeSnapshot, account: WechatAccount): PrepayPayload;

  protected async doPrepay(trade: TradeSnapshot, account: WechatAccount, signal?: AbortSignal): Promise<PrepayResult> {
    const built = buildPrepayRequest(trade, account, this.terminal);
    if (!built.ok) return { outcome: 'fail', reason: built.reason };
    const reply = await this.api.call(account, signal, (wx, cfg) => this.sendPrepay(wx, built.body, cfg));
    if (reply.status === 200) return { outcome: 'success', payload: this.toPayload(reply.data, trade, account) };
    const { code, reason } = errorOf(reply);
    return { outcome: errorVerdict('prepay', reply.status, code) === 'fail' ? 'fail' : 'unknown', reason };
  }

  /** An order WeChat has never seen (ORDER_NOT_EXIST) is not paid yet: 'pending'. */
  protected async doQuery(
    trade: TradeSnapshot,
    account: WechatAccount,
    signal?: AbortSignal,
  ): Promise<ChannelTradeAnswer> {
    const config = { params: { mchid: account.mchId }, out_trade_no: pathSegment(trade.attemptNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.pay.transactions.outTradeNo._out_trade_no_.get({ ...cfg, ...config }),
    );
    if (reply.status === 200) return toTradeAnswer(parse(transaction, reply.data, 'transaction'));
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('query', reply.status, code) === 'pending' ? 'pending' : 'unknown';
    return { outcome, channelStatus: code, reason, fromError: true };
  }

  /** 204 closes; ORDER_NOT_EXIST has nothing to close; ORDERPAID is confirmed by a query in the base. */
  protected async doClose(
    trade: TradeSnapshot,
    account: WechatAccount,
    signal?: AbortSignal,
  ): Promise<ChannelCloseAnswer> {
    const config = { out_trade_no: pathSegment(trade.attemptNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.pay.transactions.outTradeNo._out_trade_no_.close.post({ mchid: account.mchId }, { ...cfg, ...config }),
    );
    if (reply.status === 204) return { outcome: 'closed' };
    if (reply.status < 300) return { outcome: 'unknown', reason: `close answered HTTP ${reply.status}, not 204` };
    const { code, reason } = errorOf(reply);
    const verdict = errorVerdict('close', reply.status, code);
    return verdict === 'closed' || verdict === 'paid' ? { outcome: verdict } : { outcome: 'unknown', reason };
  }

  protected async doRefund(
    r: RefundSnapshot,
    account: WechatAccount,
    signal?: AbortSignal,
  ): Promise<RefundStatusResult> {
    const built = buildRefundRequest(r, account, this.terminal);
    if (!built.ok) return { outcome: 'fail', channelStatus: '', reason: built.reason };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.refund.domestic.refunds.post(built.body, cfg),
    );
    if (reply.status === 200) return checkedRefundStatus(r, parse(refund, reply.data, 'refund'));
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('refund', reply.status, code) === 'fail' ? 'fail' : 'unknown';
    return { outcome, channelStatus: code, reason };
  }

  /** A refund WeChat has never seen (RESOURCE_NOT_EXISTS) has not happened yet: 'pending', so it can be sent again. */
  protected async doQueryRefund(
    r: RefundSnapshot,
    account: WechatAccount,
    signal?: AbortSignal,
  ): Promise<RefundStatusResult> {
    const config = { out_refund_no: pathSegment(r.refundNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.refund.domestic.refunds._out_refund_no_.get({ ...cfg, ...config }),
    );
    if (reply.status === 200) return checkedRefundStatus(r, parse(refund, reply.data, 'refund'));
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('queryRefund', reply.status, code) === 'pending' ? 'pending' : 'unknown';
    return { outcome, channelStatus: code, reason };
  }

  protected async doVerifyNotify(notify: RawNotify, account: WechatAccount): Promise<ChannelNotify> {
    return verifyWechatNotify(notify, account);
  }

  /**
   * An unverifiable notify's out_trade_no, if its resource still opens with the APIv3 key (AES-GCM authenticates
   * it); only ever used to ask WeChat itself about that trade.
   */
  protected override notifyHint(notify: RawNotify, account: WechatAccount): string | undefined {
    const body = JSON.parse(notify.rawBody.toString('utf8')) as { resource?: NotifyResource };
    if (!body.resource) return undefined;
    const plain = JSON.parse(decryptResource(body.resource, account.apiV3Key)) as { out_trade_no?: unknown };
    return typeof plain.out_trade_no === 'string' ? plain.out_trade_no : undefined;
  }

  /** 204 with no body stops WeChat's retries; a 500 with `{"code":"FAIL"}` asks for another attempt. */
  ackNotify(accepted: boolean, reason?: string): NotifyAck {
    if (accepted) return { status: 204, contentType: 'application/json', body: '' };
    const body = JSON.stringify({ code: 'FAIL', message: (reason ?? 'rejected').slice(0, 200) });
    return { status: 500, contentType: 'application/json', body };
  }

  protected nonce(): string {
    return randomNonce();
  }

  protected timestamp(): string {
    return String(Math.floor(Date.now() / 1000));
  }
}

/** Parses a 200 body; a body that does not fit is thrown, hence 'unknown'. */
export function parse<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new Error(`malformed ${what} in the response`);
  return parsed.data;
}

/** out_trade_no / out_refund_no go into the URL path; anything outside WeChat's alphabet is refused. */
function pathSegment(outNo: string): string {
  if (!OUT_NO.test(outNo)) throw new Error(`${outNo.slice(0, 40)} is not a valid WeChat Pay out number`);
  return outNo;
}
