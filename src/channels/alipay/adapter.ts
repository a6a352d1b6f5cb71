import type { AlipaySdk } from 'alipay-sdk';
import type { ChannelAdapter, ChannelCloseAnswer, ChannelNotify, ChannelTradeAnswer } from '../channel-module';
import type { NotifyAck, RawNotify, RefundSnapshot, RefundStatusResult, TradeSnapshot } from '../types';
import type { AlipayAccount } from './account';
import { type AlipayClients, callAlipay } from './client';
import { alipayAck, parseNotifyBody, toChannelNotify, verifyNotifyForm } from './notify';
import {
  alipaySaid,
  closeErrorAnswer,
  createErrorOutcome,
  describeError,
  queryErrorOutcome,
  refundBizContent,
  toRefundStatus,
  toTradeAnswer,
} from './transformers';
import { closeAnswer, type CommonAnswer, queryAnswer, refundAnswer, refundQueryAnswer } from './wire';

/**
 * What every Alipay pay way shares: query, close, refund, refund query, notify verification and ack on the
 * classic gateway. Accounts come per call; nothing secret is held here.
 */
export class AlipayAdapter implements ChannelAdapter<AlipayAccount> {
  constructor(private readonly clients: AlipayClients) {}

  async query(trade: TradeSnapshot, account: AlipayAccount, signal?: AbortSignal): Promise<ChannelTradeAnswer> {
    const biz = { out_trade_no: trade.attemptNo };
    const r = await callAlipay(this.clients.get(account), QUERY, biz, queryAnswer, signal);
    if (r.ok) return toTradeAnswer(r.data);
    const said = alipaySaid(QUERY, r.error);
    return {
      outcome: queryErrorOutcome(r.error),
      channelStatus: errorStatus(r.error),
      reason: describeError(r.error),
      fromError: true,
      said,
    };
  }

  async close(trade: TradeSnapshot, account: AlipayAccount, signal?: AbortSignal): Promise<ChannelCloseAnswer> {
    const biz = { out_trade_no: trade.attemptNo };
    const r = await callAlipay(this.clients.get(account), CLOSE, biz, closeAnswer, signal);
    if (!r.ok) return { ...closeErrorAnswer(r.error), said: alipaySaid(CLOSE, r.error) };
    const said = alipaySaid(CLOSE);
    if (r.data.out_trade_no !== trade.attemptNo) {
      return { outcome: 'unknown', reason: `close answered for out_trade_no ${r.data.out_trade_no ?? '(missing)'}`, said };
    }
    return { outcome: 'closed', said };
  }

  /**
   * fund_change Y: this call moved the money. N: a repeat of a refund already made under this out_request_no
   * (Alipay's idempotent answer), or one not settled yet. refund_fee is the trade's cumulative total and cannot
   * say which, so N is settled by fastpay.refund.query for this very out_request_no.
   */
  async refund(refund: RefundSnapshot, account: AlipayAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const r = await callAlipay(this.clients.get(account), REFUND, refundBizContent(refund), refundAnswer, signal);
    if (!r.ok) {
      const said = alipaySaid(REFUND, r.error);
      return { outcome: createErrorOutcome(r.error), channelStatus: errorStatus(r.error), reason: describeError(r.error), said };
    }
    const said = alipaySaid(REFUND);
    if (r.data.out_trade_no !== refund.attemptNo) {
      return {
        outcome: 'unknown',
        channelStatus: '',
        reason: `refund answered for out_trade_no ${r.data.out_trade_no ?? '(missing)'}`,
        said,
      };
    }
    if (r.data.fund_change === 'Y') return { outcome: 'success', channelStatus: 'fund_change=Y', said };
    const confirmed = await this.queryRefund(refund, account, signal);
    return { ...confirmed, channelStatus: `fund_change=${r.data.fund_change}; ${confirmed.channelStatus}` };
  }

  async queryRefund(refund: RefundSnapshot, account: AlipayAccount, signal?: AbortSignal): Promise<RefundStatusResult> {
    const biz = { out_trade_no: refund.attemptNo, out_request_no: refund.refundNo };
    const r = await callAlipay(this.clients.get(account), REFUND_QUERY, biz, refundQueryAnswer, signal);
    if (!r.ok)
      return {
        outcome: 'unknown',
        channelStatus: errorStatus(r.error),
        reason: describeError(r.error),
        said: alipaySaid(REFUND_QUERY, r.error),
      };
    const a = r.data;
    const said = alipaySaid(REFUND_QUERY);
    // Without refund_status the answer says "not refunded (yet)" and claims nothing; with it, it must name this
    // trade, this refund and its amount: a field it lacks is as wrong as a field that differs.
    const claims = Boolean(a.refund_status);
    const problems = [
      claims && a.out_trade_no !== refund.attemptNo && `out_trade_no ${a.out_trade_no ?? '(missing)'}`,
      claims && a.out_request_no !== refund.refundNo && `out_request_no ${a.out_request_no ?? '(missing)'}`,
      claims && a.refund_amount !== refund.amount && `refund amount ${a.refund_amount ?? '(missing)'}`,
    ].filter((p): p is string => typeof p === 'string');
    const status = toRefundStatus(a);
    if (problems.length === 0) return { ...status, said };
    return { outcome: 'unknown', channelStatus: status.channelStatus, reason: `integrity check failed: ${problems.join('; ')}`, said };
  }

  async verifyNotify(notify: RawNotify, account: AlipayAccount): Promise<ChannelNotify> {
    const parsed = parseNotifyBody(notify.rawBody);
    if ('invalid' in parsed) return parsed;
    const problem = verifyNotifyForm(parsed.form, this.sdk(account).config.alipayPublicKey);
    if (problem) return { invalid: problem };
    return toChannelNotify(parsed.form);
  }

  /** An unverifiable notify's out_trade_no: only ever used to ask Alipay itself about that trade. */
  notifyHint(notify: RawNotify): string | undefined {
    const parsed = parseNotifyBody(notify.rawBody);
    return 'form' in parsed ? parsed.form.out_trade_no : undefined;
  }

  /** The reason is not sent: Alipay only tells `success` from anything else. */
  ackNotify(accepted: boolean, _reason?: string): NotifyAck {
    return alipayAck(accepted);
  }

  private sdk(account: AlipayAccount): AlipaySdk {
    return this.clients.get(account);
  }
}

const errorStatus = (e: CommonAnswer): string => e.sub_code || e.code;

const QUERY = 'alipay.trade.query';
const CLOSE = 'alipay.trade.close';
const REFUND = 'alipay.trade.refund';
const REFUND_QUERY = 'alipay.trade.fastpay.refund.query';
