import { OrderStatus, PayWay, RefundStatus, type ChannelExchange, type PayOrder } from '../../src/gen/payment/v1/types';
import { syncAttemptByNo } from '../../src/app/sync-attempt';
import { alipayTenant, wechatTenant, type AlipayTenant, type WechatTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/*
 * Issue 14 §5: the payer as the channel names them, and what the channel said, on Query. Every payment here is a
 * buyer paying through a sandbox; it is learned from the sandbox's signed notify through the real sidecar, or
 * (when the notify never arrives) from a status query.
 */

let h: Harness;
let ali: AlipayTenant;
let wx: WechatTenant;
let mockTenant: string;
beforeAll(async () => {
  h = await startHarness();
  ali = await alipayTenant(h, await newTenant(h, 't-pra'));
  wx = await wechatTenant(h, await newTenant(h, 't-prw'));
  mockTenant = await newTenant(h, 't-prm');
});
afterAll(async () => {
  await Promise.all([ali.close(), wx.close()]);
  await h.close();
});
afterEach(() => {
  ali.sandbox.clearFaults();
  wx.sandbox.clearFaults();
  h.gateway.clearFaults();
  wx.sandbox.holdRefunds(false);
});

const query = async (o: PayOrder, sync = false) => (await h.call('query', { order: ref(o), sync })).order!;
const paid = (o: PayOrder) => eventually(async () => ((await query(o)).status === OrderStatus.ORDER_STATUS_SUCCESS ? query(o) : undefined));
const ops = (records: ChannelExchange[]) => records.map((r) => r.operation);
/** Whole seconds: Alipay (gmt_payment) and WeChat (success_time) report the payment time to the second. */
const toSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

interface Buyer {
  tenant: () => string;
  payWay: PayWay;
  pay: (attemptNo: string) => void;
  /** Every notify of this payment is lost: only a status query can learn of it. */
  loseNotifies: () => void;
  /** What the sandbox knows of the payer and the payment. */
  seen: (attemptNo: string) => { payerId: string; account: string; paidAt: Date };
  endpoints: { prepay: string; query: string };
  paidStatus: string;
}

const BUYERS: Record<'alipay' | 'wechat' | 'mock', Buyer> = {
  alipay: {
    tenant: () => ali.tenantId,
    payWay: PayWay.PAY_WAY_ALIPAY_QR,
    pay: (no) => ali.sandbox.pay(no),
    loseNotifies: () => ali.sandbox.inject({ kind: 'badNotifySignature' }, 1000),
    seen: (no) => {
      const t = ali.sandbox.trade(no)!;
      return { payerId: t.buyerId, account: t.buyerLogonId, paidAt: toSecond(t.paidAt!) };
    },
    endpoints: { prepay: 'alipay.trade.precreate', query: 'alipay.trade.query' },
    paidStatus: 'TRADE_SUCCESS',
  },
  wechat: {
    tenant: () => wx.tenantId,
    payWay: PayWay.PAY_WAY_WECHAT_NATIVE,
    pay: (no) => wx.sandbox.pay(no),
    loseNotifies: () => wx.sandbox.inject({ kind: 'dropNotify' }, 1000),
    seen: (no) => {
      const t = wx.sandbox.trade(no) as { payer: { openid: string }; success_time: string };
      return { payerId: t.payer.openid, account: '', paidAt: new Date(t.success_time) };
    },
    endpoints: { prepay: 'POST /v3/pay/transactions/native', query: 'GET /v3/pay/transactions/out-trade-no/{out_trade_no}' },
    paidStatus: 'SUCCESS',
  },
  mock: {
    tenant: () => mockTenant,
    payWay: PayWay.PAY_WAY_MOCK,
    pay: (no) => h.gateway.pay(no),
    loseNotifies: () => h.gateway.inject({ kind: 'dropNotify' }, 1000),
    seen: (no) => {
      const t = h.gateway.trade(no)!;
      return { payerId: t.payer_id!, account: '', paidAt: new Date(t.paid_at!) };
    },
    endpoints: { prepay: 'POST /v1/trades', query: 'GET /v1/trades/{out_trade_no}' },
    paidStatus: 'SUCCESS',
  },
};

describe('payer and records on Query', () => {
  it.each(Object.keys(BUYERS) as (keyof typeof BUYERS)[])(
    'When a buyer pays through the %s sandbox and its notify arrives, then the attempt shows the payer as the channel names them, the amount and time it reported, and what was sent and answered',
    async (name) => {
      const b = BUYERS[name];
      const order = await createOrder(h, b.tenant(), { amount: 6180n });
      const pre = await h.call('prepay', { order: ref(order), payWay: b.payWay, clientIp: '127.0.0.1', payerId: '' });
      b.pay(pre.attemptNo);
      const after = await paid(order);

      const seen = b.seen(pre.attemptNo);
      const [attempt] = after.attempts;
      expect(attempt).toMatchObject({
        attemptNo: pre.attemptNo,
        payerChannelId: seen.payerId,
        payerAccount: seen.account,
        paidAmount: 6180n,
        paidTime: seen.paidAt,
      });
      expect(seen.payerId).not.toBe('');
      expect(ops(attempt.channelRecords)).toEqual(['prepay', 'notify']);
      const [prepay, notify] = attempt.channelRecords;
      expect(prepay).toMatchObject({ endpoint: b.endpoints.prepay, sent: { out_trade_no: pre.attemptNo, amount: '6180' } });
      expect(prepay.answer).toMatchObject({ outcome: 'success' });
      expect(notify.endpoint).toBe('');
      expect(notify.answer).toMatchObject({
        outcome: 'success',
        status: b.paidStatus,
        trade_no: after.channelTradeNo,
        paid_amount: '6180',
      });
      expect(notify.answer.notify_id).toBeTruthy();
      expect(notify.time!.getTime()).toBeGreaterThanOrEqual(prepay.time!.getTime());
    },
  );

  it.each(Object.keys(BUYERS) as (keyof typeof BUYERS)[])(
    'When a %s payment is learned by a status query (its notifies never arrive), then the attempt shows the same payer, amount and time, and the query as the record',
    async (name) => {
      const b = BUYERS[name];
      const order = await createOrder(h, b.tenant(), { amount: 4321n });
      const pre = await h.call('prepay', { order: ref(order), payWay: b.payWay, clientIp: '127.0.0.1', payerId: '' });
      b.loseNotifies();
      b.pay(pre.attemptNo);
      expect((await query(order, true)).status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);

      const [attempt] = (await query(order)).attempts;
      const seen = b.seen(pre.attemptNo);
      expect(attempt).toMatchObject({ payerChannelId: seen.payerId, payerAccount: seen.account, paidAmount: 4321n, paidTime: seen.paidAt });
      expect(ops(attempt.channelRecords)).toEqual(['prepay', 'query']);
      const last = attempt.channelRecords[1];
      expect(last).toMatchObject({ endpoint: b.endpoints.query, sent: { out_trade_no: pre.attemptNo } });
      expect(last.answer).toMatchObject({ outcome: 'success', status: b.paidStatus, paid_amount: '4321' });
    },
  );

  it('When Alipay answers a close with a refusal (the QR code was never scanned), then the attempt keeps its code, sub_code and message', async () => {
    const order = await createOrder(h, ali.tenantId);
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
    await h.call('cancel', { order: ref(order), reason: 'changed my mind' });

    const [attempt] = (await query(order)).attempts;
    expect(attempt.payerChannelId).toBe('');
    expect(attempt.paidAmount).toBe(0n);
    expect(attempt.paidTime).toBeUndefined();
    expect(ops(attempt.channelRecords)).toEqual(['prepay', 'close']);
    const close = attempt.channelRecords[1];
    expect(close).toMatchObject({ endpoint: 'alipay.trade.close', sent: { out_trade_no: pre.attemptNo } });
    expect(close.answer).toMatchObject({ outcome: 'closed', code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST' });
    expect(close.answer.message).toContain('Business Failed');
  });

  it('When a WeChat refund is answered PROCESSING and then succeeds by notify, then the refund keeps both, with its keys and the channel statuses', async () => {
    const order = await createOrder(h, wx.tenantId, { amount: 5000n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_NATIVE, clientIp: '', payerId: '' });
    wx.sandbox.pay(pre.attemptNo);
    await paid(order);
    wx.sandbox.holdRefunds(true);
    const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 1200n, reason: 'damaged' });
    expect(refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    wx.sandbox.settleRefund(refund!.refundNo, 'SUCCESS');
    const done = await eventually(async () => {
      const [r] = (await query(order)).refunds;
      return r.status === RefundStatus.REFUND_STATUS_SUCCESS && r;
    });
    expect(ops(done.channelRecords)).toEqual(['refund', 'notify']);
    const [sent, notify] = done.channelRecords;
    expect(sent).toMatchObject({
      endpoint: 'POST /v3/refund/domestic/refunds',
      sent: { out_trade_no: pre.attemptNo, out_refund_no: refund!.refundNo, amount: '1200' },
    });
    expect(sent.answer).toMatchObject({ outcome: 'pending', status: 'PROCESSING', refund_id: done.channelRefundNo });
    expect(notify.answer).toMatchObject({ outcome: 'success', status: 'SUCCESS', refund_id: done.channelRefundNo });
  });

  it('When WeChat closes a refund (the channel refuses it), then the refund keeps the status and message it gave', async () => {
    const order = await createOrder(h, wx.tenantId, { amount: 5000n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_NATIVE, clientIp: '', payerId: '' });
    wx.sandbox.pay(pre.attemptNo);
    await paid(order);
    wx.sandbox.holdRefunds(true);
    const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 800n, reason: '' });
    wx.sandbox.settleRefund(refund!.refundNo, 'CLOSED');
    const failed = await eventually(async () => {
      const [r] = (await query(order)).refunds;
      return r.status === RefundStatus.REFUND_STATUS_FAILED && r;
    });
    expect(ops(failed.channelRecords)).toEqual(['refund', 'notify']);
    expect(failed.channelRecords[1].answer).toMatchObject({ outcome: 'fail', status: 'CLOSED' });
    expect(failed.channelRecords[1].answer.message).toContain('CLOSED');
  });

  it('When the status sync asks about an attempt not paid yet, then the attempt keeps the answer with its stamp', async () => {
    const order = await createOrder(h, wx.tenantId);
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_NATIVE, clientIp: '', payerId: '' });
    expect(await syncAttemptByNo(h.service.deps, pre.attemptNo)).toEqual({ summary: 'pending: unchanged', askAgain: true });
    const [attempt] = (await query(order)).attempts;
    expect(ops(attempt.channelRecords)).toEqual(['prepay', 'query']);
    expect(attempt.channelRecords[1]).toMatchObject({
      endpoint: 'GET /v3/pay/transactions/out-trade-no/{out_trade_no}',
      answer: { outcome: 'pending', status: 'NOTPAY', http_status: '200' },
    });
    expect(attempt.channelRecords[1].answer.message).toBeTruthy(); // trade_state_desc, in WeChat's words
    expect(attempt.payerChannelId).toBe('');
  });

  it('When a pending refund is asked about again and again, then it keeps only its newest six exchanges, oldest first', async () => {
    const order = await createOrder(h, wx.tenantId, { amount: 3000n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_NATIVE, clientIp: '', payerId: '' });
    wx.sandbox.pay(pre.attemptNo);
    await paid(order);
    wx.sandbox.holdRefunds(true);
    const outRefundNo = uniq('RF');
    await h.call('refund', { order: ref(order), outRefundNo, amount: 300n, reason: '' });
    const asked: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { refund } = await h.call('queryRefund', { tenantId: wx.tenantId, outRefundNo, sync: true });
      asked.push(refund!.channelRecords.at(-1)!.time!.toISOString());
    }
    const { refund } = await h.call('queryRefund', { tenantId: wx.tenantId, outRefundNo, sync: false });
    expect(refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    expect(ops(refund!.channelRecords)).toEqual(Array(6).fill('query_refund'));
    expect(refund!.channelRecords.map((r) => r.time!.toISOString())).toEqual(asked.slice(1));
    expect(refund!.channelRecords[5]).toMatchObject({
      endpoint: 'GET /v3/refund/domestic/refunds/{out_refund_no}',
      answer: { outcome: 'pending', status: 'PROCESSING' },
    });
  });

  it('When everything above was recorded, then no record holds a key, a serial, a secret or a signature of any of these tenants', async () => {
    const db = h.service.deps.db;
    const tenants = [ali.tenantId, wx.tenantId, mockTenant];
    const attempts = await db.payAttempt.findMany({ where: { tenantId: { in: tenants } } });
    const refunds = await db.refund.findMany({ where: { tenantId: { in: tenants } } });
    const stored = JSON.stringify([...attempts.map((a) => a.channelRecords), ...refunds.map((r) => r.channelRecords)]);
    expect(attempts).toHaveLength(11);
    expect(attempts.every((a) => Array.isArray(a.channelRecords) && a.channelRecords.length >= 2)).toBe(true);
    expect(refunds.map((r) => (r.channelRecords as unknown[]).length).sort()).toEqual([2, 2, 6]);

    const secrets: string[] = [];
    for (const [tenant, channel] of [
      [ali.tenantId, 'alipay'],
      [wx.tenantId, 'wechat'],
      [mockTenant, 'mock'],
    ] as const) {
      const account = (await h.service.deps.accounts.get(tenant, channel)) as Record<string, unknown>;
      for (const field of ['appPrivateKey', 'merchantPrivateKey', 'apiV3Key', 'merchantSerial', 'secret']) {
        const value = account[field];
        if (typeof value !== 'string') continue;
        // A PEM's base64 lines, each long enough to be unmistakable.
        secrets.push(...value.split('\n').filter((l) => l.length >= 32 && !l.startsWith('-----')), value.slice(0, 32));
      }
    }
    // Signatures as the channels sent them: Alipay's `sign` form field, WeChat's Wechatpay-Signature header.
    const notifies = await db.notifyRecord.findMany({ where: { tenantId: { in: tenants } } });
    for (const n of notifies) {
      const sign = new URLSearchParams(n.rawPayload).get('sign');
      if (sign && sign.length > 32) secrets.push(sign.slice(0, 40));
      const headers = n.headers as Record<string, string>;
      for (const [k, v] of Object.entries(headers)) if (/signature/i.test(k) && v.length > 32) secrets.push(v.slice(0, 40));
    }
    expect(secrets.length).toBeGreaterThan(10);
    expect(secrets.filter((s) => stored.includes(s))).toEqual([]);
    expect(stored).not.toMatch(/PRIVATE KEY|"sign"|signature/i);
  });
});
