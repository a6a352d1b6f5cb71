import type { ChannelAdapter, ChannelNotify, ChannelTradeAnswer } from '../../src/channels/channel-module';
import { GuardedChannel } from '../../src/channels/guarded-channel';
import { type WechatAccount, wechatChannel } from '../../src/channels/wechat';
import { toChannelNotify } from '../../src/channels/alipay/notify';
import { checkedRefundStatus as mockCheckedRefund, checkedTradeStatus as mockCheckedTrade } from '../../src/channels/mock/transformers';
import type { NotifyAck, RefundSnapshot, TradeSnapshot } from '../../src/channels/types';
import { checkedRefundStatus as wechatCheckedRefund, toTradeAnswer } from '../../src/channels/wechat/transformers';
import type { Refund } from '../../src/channels/wechat/wire';

/** Missing is not matching: every field a message is checked on must be there, and equal. */

const account: WechatAccount = {
  channel: 'wechat',
  mchId: '1900000001',
  appId: 'wxd678efh567hg6787',
  merchantPrivateKey: '',
  merchantSerial: '',
  platformPublicKey: '',
  platformPublicKeyId: 'PUB_KEY_ID_1',
  apiV3Key: '',
  baseUrl: 'http://127.0.0.1:1/',
  notifyBaseUrl: 'http://127.0.0.1:2',
};

const trade: TradeSnapshot = {
  tenantId: 't',
  payNo: 'P1',
  attemptNo: 'A1000001',
  amount: 2500n,
  currency: 'CNY',
  subject: 's',
  description: '',
  attach: '',
  expireAt: new Date(Date.now() + 3600_000),
  clientIp: '',
  payerId: '',
  returnUrl: '',
};

const refund: RefundSnapshot = {
  tenantId: 't',
  payNo: 'P1',
  attemptNo: 'A1000001',
  refundNo: 'R1000001',
  tradeAmount: 2500n,
  amount: 1000n,
  currency: 'CNY',
  reason: '',
};

/** A channel whose answers and notifies the test writes by hand; the guard around it is the real one. */
class ScriptedAdapter implements ChannelAdapter<WechatAccount> {
  answer: ChannelTradeAnswer = { outcome: 'pending', channelStatus: 'NOTPAY' };
  notify: ChannelNotify = { invalid: 'none' };

  async query(): Promise<ChannelTradeAnswer> {
    return this.answer;
  }
  close(): never {
    throw new Error('not used');
  }
  refund(): never {
    throw new Error('not used');
  }
  queryRefund(): never {
    throw new Error('not used');
  }
  async verifyNotify(): Promise<ChannelNotify> {
    return this.notify;
  }
  ackNotify(): NotifyAck {
    return { status: 204, contentType: 'application/json', body: '' };
  }
}

const paid: ChannelTradeAnswer = {
  outcome: 'success',
  channelStatus: 'SUCCESS',
  paidAmount: 2500n,
  currency: 'CNY',
  outTradeNo: 'A1000001',
  appId: account.appId,
  merchantId: account.mchId,
};
const without = (field: keyof ChannelTradeAnswer): ChannelTradeAnswer => {
  const copy = { ...paid };
  delete copy[field];
  return copy;
};

describe('channel answers to a query', () => {
  const adapter = new ScriptedAdapter();
  const handler = new GuardedChannel(wechatChannel, adapter);
  const query = (answer: ChannelTradeAnswer) => {
    adapter.answer = answer;
    return handler.query(trade, { account });
  };

  it('a complete, matching answer is taken', async () => {
    expect(await query(paid)).toMatchObject({ outcome: 'success', paidAmount: 2500n });
  });

  it.each(['outTradeNo', 'appId', 'merchantId', 'paidAmount', 'currency'] as const)('a success without %s is unknown', async (field) => {
    const status = await query(without(field));
    expect(status.outcome).toBe('unknown');
    expect(status.reason).toContain('(missing)');
  });

  it('an error answer (no trade in it) carries no identity to check', async () => {
    const status = await query({ outcome: 'pending', channelStatus: 'ORDER_NOT_EXIST', fromError: true });
    expect(status.outcome).toBe('pending');
  });

  it('an unpaid trade still has to name itself', async () => {
    const status = await query({ outcome: 'pending', channelStatus: 'NOTPAY', appId: account.appId, merchantId: account.mchId });
    expect(status.outcome).toBe('unknown');
  });
});

describe('notifies', () => {
  const adapter = new ScriptedAdapter();
  const handler = new GuardedChannel(wechatChannel, adapter);
  const raw = { tenantId: 't', terminalType: 'native', headers: {}, rawBody: Buffer.from('{}') };
  const payment = {
    kind: 'payment' as const,
    notifyId: 'N1',
    attemptNo: 'A1000001',
    status: { outcome: 'success' as const, channelStatus: 'SUCCESS' },
  };

  it.each(['outTradeNo', 'appId', 'merchantId'] as const)(
    'a payment notify without %s is refused, naming the trade as a hint',
    async (field) => {
      const identity: Record<string, string> = { outTradeNo: 'A1000001', appId: account.appId, merchantId: account.mchId };
      delete identity[field];
      adapter.notify = { notify: payment, identity };
      const v = await handler.verifyNotify(raw, account);
      expect(v).toMatchObject({ valid: false, attemptNo: 'A1000001' });
      expect(v.valid === false && v.reason).toContain('(missing)');
    },
  );

  it('a refund notify need not name the app (WeChat refund resources have no appid), but must name the merchant', async () => {
    const notify = {
      kind: 'refund' as const,
      notifyId: 'N2',
      attemptNo: 'A1000001',
      refundNo: 'R1',
      status: { outcome: 'success' as const, channelStatus: 'SUCCESS' },
      amount: 1000n,
    };
    adapter.notify = { notify, identity: { outTradeNo: 'A1000001', merchantId: account.mchId } };
    expect((await handler.verifyNotify(raw, account)).valid).toBe(true);
    adapter.notify = { notify, identity: { outTradeNo: 'A1000001' } };
    expect((await handler.verifyNotify(raw, account)).valid).toBe(false);
  });

  it('an Alipay refund notify proves no per-refund amount: unknown, so the core asks', () => {
    const n = toChannelNotify({
      notify_id: 'n1',
      app_id: '2021000000000001',
      seller_id: '2088000000000001',
      out_trade_no: 'A1000001',
      trade_status: 'TRADE_SUCCESS',
      total_amount: '25.00',
      out_biz_no: 'R1000001',
      refund_fee: '10.00',
      gmt_refund: '2026-12-01 10:00:00',
    });
    const notify = 'notify' in n ? n.notify : undefined;
    expect(notify).toMatchObject({ kind: 'refund', status: { outcome: 'unknown' } });
    expect(notify?.kind === 'refund' ? notify.amount : 'not a refund notify').toBeUndefined();
  });
});

describe('refund answers', () => {
  const wxRefund: Refund = {
    refund_id: 'RID1',
    out_refund_no: 'R1000001',
    out_trade_no: 'A1000001',
    status: 'SUCCESS',
    amount: { total: 2500n, refund: 1000n },
  };

  it('WeChat: a Refund without out_trade_no is unknown', () => {
    expect(wechatCheckedRefund(refund, wxRefund).outcome).toBe('success');
    const { out_trade_no: _drop, ...rest } = wxRefund;
    expect(wechatCheckedRefund(refund, rest)).toMatchObject({ outcome: 'unknown', reason: expect.stringContaining('(missing)') });
  });

  it('mock: an answer about another refund, trade or amount is unknown', () => {
    const answer = { mch_id: 'M1', out_refund_no: 'R1000001', out_trade_no: 'A1000001', refund_id: 'X', status: 'SUCCESS', amount: 1000n };
    expect(mockCheckedRefund(refund, answer, 'M1').outcome).toBe('success');
    expect(mockCheckedRefund(refund, { ...answer, out_refund_no: 'R2' }, 'M1').outcome).toBe('unknown');
    expect(mockCheckedRefund(refund, { ...answer, out_trade_no: 'A2' }, 'M1').outcome).toBe('unknown');
    expect(mockCheckedRefund(refund, { ...answer, amount: 999n }, 'M1').outcome).toBe('unknown');
    expect(mockCheckedRefund(refund, { ...answer, mch_id: 'M2' }, 'M1').outcome).toBe('unknown');
  });

  it('mock: a query answer about another trade is unknown', () => {
    const answer = { mch_id: 'M1', out_trade_no: 'A1000001', trade_no: 'T', status: 'SUCCESS', amount: 2500n, currency: 'CNY' };
    expect(mockCheckedTrade(trade, answer).outcome).toBe('success');
    expect(mockCheckedTrade(trade, { ...answer, out_trade_no: 'A2' }).outcome).toBe('unknown');
  });
});

describe('a trade the channel reports as refunded', () => {
  it('WeChat trade_state REFUND is a success flagged refundedAtChannel; SUCCESS is not flagged', () => {
    const tx = {
      appid: account.appId,
      mchid: account.mchId,
      out_trade_no: 'A1000001',
      trade_state: 'REFUND',
      amount: { total: 2500n, currency: 'CNY' },
    };
    expect(toTradeAnswer(tx)).toMatchObject({ outcome: 'success', refundedAtChannel: true, paidAmount: 2500n });
    expect(toTradeAnswer({ ...tx, trade_state: 'SUCCESS' }).refundedAtChannel).toBeUndefined();
  });
});
