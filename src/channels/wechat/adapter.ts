import type { z } from 'zod';
import type { ChannelAdapter, ChannelCloseAnswer, ChannelNotify, ChannelTradeAnswer } from '../channel-module';
import type { NotifyAck, RawNotify, RefundSnapshot, RefundStatusResult, TradeSnapshot } from '../types';
import type { WechatAccount } from './account';
import { errorOf, wechatSaid, type WechatApi } from './client';
import { verifyWechatNotify } from './notify';
import { decryptResource } from './signing';
import { buildRefundRequest, checkedRefundStatus, errorVerdict, OUT_NO, type TerminalType, toTradeAnswer } from './transformers';
import { type NotifyResource, refund, transaction } from './wire';

/**
 * What the four WeChat Pay v3 pay ways share: query, close, refund, refund query, notify verification and its
 * acknowledgement. Only a signed, expected answer is success or fail; a malformed one is thrown (hence unknown).
 */
export class WechatAdapter implements ChannelAdapter<WechatAccount> {
  constructor(private readonly api: WechatApi) {}

  /** An order WeChat has never seen (ORDER_NOT_EXIST) is not paid yet: 'pending'. */
  async query(trade: TradeSnapshot, account: WechatAccount, signal?: AbortSignal): Promise<ChannelTradeAnswer> {
    const config = { params: { mchid: account.mchId }, out_trade_no: pathSegment(trade.attemptNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.pay.transactions.outTradeNo._out_trade_no_.get({ ...cfg, ...config }),
    );
    const said = wechatSaid(QUERY, reply);
    if (reply.status === 200) {
      const answer = toTradeAnswer(parse(transaction, reply.data, 'transaction'));
      return { ...answer, said: { ...answer.said, ...said } };
    }
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('query', reply.status, code) === 'pending' ? 'pending' : 'unknown';
    return { outcome, channelStatus: code, reason, fromError: true, said };
  }

  /** 204 closes; ORDER_NOT_EXIST has nothing to close; ORDERPAID is confirmed by a query in the guard. */
  async close(trade: TradeSnapshot, account: WechatAccount, signal?: AbortSignal): Promise<ChannelCloseAnswer> {
    const config = { out_trade_no: pathSegment(trade.attemptNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.pay.transactions.outTradeNo._out_trade_no_.close.post({ mchid: account.mchId }, { ...cfg, ...config }),
    );
    const said = wechatSaid(CLOSE, reply);
    if (reply.status === 204) return { outcome: 'closed', said };
    if (reply.status < 300) return { outcome: 'unknown', reason: `close answered HTTP ${reply.status}, not 204`, said };
    const { code, reason } = errorOf(reply);
    const verdict = errorVerdict('close', reply.status, code);
    return verdict === 'closed' || verdict === 'paid' ? { outcome: verdict, said } : { outcome: 'unknown', reason, said };
  }

  /** The refund's notify URL names the terminal of the pay way the trade was paid with, as its prepay's did. */
  async refund(r: RefundSnapshot, account: WechatAccount, signal?: AbortSignal, payWay?: string): Promise<RefundStatusResult> {
    const built = buildRefundRequest(r, account, terminalOf(payWay));
    if (!built.ok) return { outcome: 'fail', channelStatus: '', reason: built.reason };
    const reply = await this.api.call(account, signal, (wx, cfg) => wx.v3.refund.domestic.refunds.post(built.body, cfg));
    const said = wechatSaid(REFUND, reply);
    if (reply.status === 200) return { ...checkedRefundStatus(r, parse(refund, reply.data, 'refund')), said };
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('refund', reply.status, code) === 'fail' ? 'fail' : 'unknown';
    return { outcome, channelStatus: code, reason, said };
  }

  /** A refund WeChat has never seen (RESOURCE_NOT_EXISTS) has not happened yet: 'pending', so it can be sent again. */
  async queryRefund(r: RefundSnapshot, account: WechatAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const config = { out_refund_no: pathSegment(r.refundNo) };
    const reply = await this.api.call(account, signal, (wx, cfg) =>
      wx.v3.refund.domestic.refunds._out_refund_no_.get({ ...cfg, ...config }),
    );
    const said = wechatSaid(REFUND_QUERY, reply);
    if (reply.status === 200) return { ...checkedRefundStatus(r, parse(refund, reply.data, 'refund')), said };
    const { code, reason } = errorOf(reply);
    const outcome = errorVerdict('queryRefund', reply.status, code) === 'pending' ? 'pending' : 'unknown';
    return { outcome, channelStatus: code, reason, said };
  }

  async verifyNotify(notify: RawNotify, account: WechatAccount): Promise<ChannelNotify> {
    return verifyWechatNotify(notify, account);
  }

  /**
   * An unverifiable notify's out_trade_no, if its resource still opens with the APIv3 key (AES-GCM authenticates
   * it); only ever used to ask WeChat itself about that trade.
   */
  notifyHint(notify: RawNotify, account: WechatAccount): string | undefined {
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
}

const QUERY = 'GET /v3/pay/transactions/out-trade-no/{out_trade_no}';
const CLOSE = 'POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close';
const REFUND = 'POST /v3/refund/domestic/refunds';
const REFUND_QUERY = 'GET /v3/refund/domestic/refunds/{out_refund_no}';

const TERMINALS: Readonly<Record<string, TerminalType>> = {
  WECHAT_APP: 'app',
  WECHAT_JSAPI: 'jsapi',
  WECHAT_NATIVE: 'native',
  WECHAT_H5: 'h5',
};
const terminalOf = (payWay?: string): TerminalType | 'refund' =>
  payWay !== undefined && Object.hasOwn(TERMINALS, payWay) ? TERMINALS[payWay] : 'refund';

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
