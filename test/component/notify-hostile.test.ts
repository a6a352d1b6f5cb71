import { request } from 'node:http';
import { MockGatewayClient } from '../../src/channels/mock/gateway-client';
import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { refundResponse } from '../../src/channels/mock/wire';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { alipayTenant, wechatTenant, type AlipayTenant, type WechatTenant } from '../support/channels';
import { eventually, MOCK_SECRET, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { mockPaymentNotify } from '../support/mock-notify';
import { createOrder, ref } from '../support/orders';

/** A message that proves nothing must change nothing; one that proves something must do exactly that. */

const PREFIX = `{${uniq('nh')}}`;
let h: Harness;
let ali: AlipayTenant;
let wx: WechatTenant;
/** Attempts whose status query was scheduled, as the status sync saw them. */
const scheduled: string[] = [];

beforeAll(async () => {
  h = await startHarness({ QUEUE_PREFIX: PREFIX });
  ali = await alipayTenant(h, await newTenant(h, 't-hali'));
  wx = await wechatTenant(h, await newTenant(h, 't-hwx'));
  const sync = h.service.deps.statusSync;
  const schedule = sync.schedule.bind(sync);
  sync.schedule = async (attemptNo: string) => {
    scheduled.push(attemptNo);
    await schedule(attemptNo);
  };
});
afterAll(async () => {
  await Promise.all([ali.close(), wx.close()]);
  await h.close();
});

const db = () => h.service.deps.db;
const orderRow = (payNo: string) => db().payOrder.findUniqueOrThrow({ where: { payNo } });
const records = (payNo: string) => db().notifyRecord.findMany({ where: { payNo }, orderBy: { id: 'asc' } });
const eventTypes = async (payNo: string) =>
  (await db().outboxEvent.findMany({ where: { payNo }, orderBy: { orderVersion: 'asc' } })).map((e) => e.type);

async function paying(tenantId: string, payWay: PayWay, amount = 2500n): Promise<{ order: PayOrder; attemptNo: string }> {
  const order = await createOrder(h, tenantId, { amount });
  const pre = await h.call('prepay', { order: ref(order), payWay, clientIp: '', payerId: '' });
  return { order, attemptNo: pre.attemptNo };
}

const mockNotify = (attemptNo: string, over: Record<string, unknown> = {}): string => mockPaymentNotify(h, attemptNo, over);

type HeaderList = Record<string, string> | [string, string][];

function post(channel: string, tenantId: string, terminal: string, body: string, headers: HeaderList, type: string) {
  const h2 = new Headers(Array.isArray(headers) ? headers : Object.entries(headers));
  h2.set('content-type', type);
  return fetch(`${h.notifyBaseUrl}/notify/${channel}/${tenantId}/${terminal}`, { method: 'POST', headers: h2, body });
}
const postMock = (tenantId: string, body: string, headers: HeaderList = buildSignedHeaders(MOCK_SECRET, body)) =>
  post('mock', tenantId, 'web', body, headers, 'application/json');
const postWechat = (body: string, headers: HeaderList, tenantId = wx.tenantId) =>
  post('wx', tenantId, 'native', body, headers, 'application/json');
const postAlipay = (body: string, tenantId = ali.tenantId) => post('alipay', tenantId, 'qr', body, {}, 'application/x-www-form-urlencoded');

/** A POST with exactly these header lines, repeats included (fetch would join a repeated name into one line). */
function postRaw(path: string, body: string, lines: [string, string][]): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${h.notifyBaseUrl}${path}`);
    const all: [string, string][] = [['Host', url.host], ['Content-Length', String(Buffer.byteLength(body))], ...lines];
    const req = request(url, { method: 'POST', headers: all.flat() }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The Transaction a paid WeChat trade reports, with `over` applied (undefined removes a field). */
function transaction(attemptNo: string, amount: bigint, over: Record<string, unknown> = {}): object {
  const tx: Record<string, unknown> = {
    appid: wx.appId,
    mchid: wx.mchId,
    out_trade_no: attemptNo,
    transaction_id: `42000${Date.now()}`,
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    success_time: new Date().toISOString().replace('Z', '+00:00'),
    payer: { openid: 'o-buyer' },
    amount: { total: Number(amount), payer_total: Number(amount), currency: 'CNY', payer_currency: 'CNY' },
    ...over,
  };
  for (const [k, v] of Object.entries(tx)) if (v === undefined) delete tx[k];
  return tx;
}

/** The fields of a paid Alipay trade's notify, with `over` applied (undefined removes a field). */
function alipayFields(attemptNo: string, amountYuan: string, over: Record<string, string | undefined> = {}) {
  const fields: Record<string, string | undefined> = {
    notify_type: 'trade_status_sync',
    notify_id: uniq('an'),
    notify_time: '2026-12-01 10:00:00',
    app_id: ali.appId,
    charset: 'utf-8',
    version: '1.0',
    trade_no: `2026${Date.now()}`,
    out_trade_no: attemptNo,
    seller_id: ali.sellerId,
    trade_status: 'TRADE_SUCCESS',
    total_amount: amountYuan,
    gmt_payment: '2026-12-01 10:00:00',
    ...over,
  };
  return Object.fromEntries(Object.entries(fields).filter((kv): kv is [string, string] => kv[1] !== undefined));
}

describe('a receipt belongs to the trade it deduplicates', () => {
  it('When tenant B’s genuine notify reuses the notify id tenant A’s was applied under, then B’s order is paid too', async () => {
    const [a, b] = [await newTenant(h, 't-ra'), await newTenant(h, 't-rb')];
    const first = await paying(a, PayWay.PAY_WAY_MOCK);
    const second = await paying(b, PayWay.PAY_WAY_MOCK);
    const notifyId = uniq('SAME');
    expect((await postMock(a, mockNotify(first.attemptNo, { notify_id: notifyId }))).status).toBe(200);
    const res = await postMock(b, mockNotify(second.attemptNo, { notify_id: notifyId }));
    expect(res.status).toBe(200);
    expect((await orderRow(second.order.payNo)).status).toBe('SUCCESS');
    expect((await records(second.order.payNo)).map((r) => r.result)).toEqual(['PROCESSED']);
    expect(await eventTypes(second.order.payNo)).toEqual(['PAYMENT_SUCCEEDED']);
    // A true repeat of either is still a duplicate.
    expect((await postMock(b, mockNotify(second.attemptNo, { notify_id: notifyId }))).status).toBe(200);
    expect((await records(second.order.payNo)).map((r) => r.result)).toEqual(['PROCESSED', 'DUPLICATE']);
  });

  it('When a notify is applied, then Redis holds no dedupe key for it: the receipt in MySQL is the only dedupe truth', async () => {
    const tenant = await newTenant(h, 't-rk');
    const { attemptNo } = await paying(tenant, PayWay.PAY_WAY_MOCK);
    const notifyId = uniq('K');
    expect((await postMock(tenant, mockNotify(attemptNo, { notify_id: notifyId }))).status).toBe(200);
    expect((await postMock(tenant, mockNotify(attemptNo, { notify_id: notifyId }))).status).toBe(200);
    expect(await h.service.deps.redis.keys(`*${notifyId}*`)).toEqual([]);
    const receipts = await h.service.deps.db.notifyReceipt.findMany({ where: { notifyId } });
    expect(receipts.map((r) => [r.tenantId, r.attemptNo])).toEqual([[tenant, attemptNo]]);
  });
});

describe('missing is not matching', () => {
  const cases: [string, (attemptNo: string, amount: bigint) => object][] = [
    ['no amount', (a, amt) => transaction(a, amt, { amount: undefined })],
    ['amount without total', (a, amt) => transaction(a, amt, { amount: { currency: 'CNY', payer_total: Number(amt) } })],
    ['amount without currency', (a, amt) => transaction(a, amt, { amount: { total: Number(amt) } })],
    ['no mchid', (a, amt) => transaction(a, amt, { mchid: undefined })],
    ['no appid', (a, amt) => transaction(a, amt, { appid: undefined })],
  ];
  it.each(cases)(
    'When a validly signed WeChat payment notify has %s, then it is REJECTED, the order untouched and its status queried',
    async (_name, build) => {
      const { order, attemptNo } = await paying(wx.tenantId, PayWay.PAY_WAY_WECHAT_NATIVE);
      const { body, headers } = wx.signedNotify('TRANSACTION.SUCCESS', build(attemptNo, order.amount));
      const res = await postWechat(body, headers);
      expect(res.status).toBe(500);
      expect((await orderRow(order.payNo)).status).toBe('PAYING');
      expect((await records(order.payNo)).map((r) => r.result)).toEqual(['REJECTED']);
      expect(await eventTypes(order.payNo)).toEqual([]);
      expect(scheduled).toContain(attemptNo);
    },
  );

  it.each([
    ['no seller_id', { seller_id: undefined }],
    ['no total_amount', { total_amount: undefined }],
    ['no app_id', { app_id: undefined }],
  ] as const)(
    'When a validly signed Alipay payment notify has %s, then it is REJECTED, the order untouched and its status queried',
    async (_name, over) => {
      const { order, attemptNo } = await paying(ali.tenantId, PayWay.PAY_WAY_ALIPAY_QR);
      const res = await postAlipay(ali.signedNotify(alipayFields(attemptNo, '25.00', over)));
      expect(res.status).toBe(500);
      expect(await res.text()).not.toBe('success');
      expect((await orderRow(order.payNo)).status).toBe('PAYING');
      expect((await records(order.payNo)).map((r) => r.result)).toEqual(['REJECTED']);
      expect(scheduled).toContain(attemptNo);
    },
  );

  it('When a validly signed WeChat refund notify has no mchid, then it is REJECTED and the refund untouched', async () => {
    const { order, attemptNo } = await paying(wx.tenantId, PayWay.PAY_WAY_WECHAT_NATIVE);
    wx.sandbox.holdRefunds(true);
    try {
      wx.sandbox.pay(attemptNo);
      await eventually(async () => (await orderRow(order.payNo)).status === 'SUCCESS');
      const outRefundNo = uniq('RF');
      await h.call('refund', { order: ref(order), outRefundNo, amount: 1000n, reason: '' });
      const refundRow = await db().refund.findFirstOrThrow({ where: { payNo: order.payNo } });
      const resource = {
        out_trade_no: attemptNo,
        out_refund_no: refundRow.refundNo,
        refund_id: `50300${Date.now()}`,
        refund_status: 'SUCCESS',
        amount: { total: 2500, refund: 1000, payer_total: 2500, payer_refund: 1000 },
      };
      const { body, headers } = wx.signedNotify('REFUND.SUCCESS', resource);
      expect((await postWechat(body, headers)).status).toBe(500);
      expect((await db().refund.findUniqueOrThrow({ where: { refundNo: refundRow.refundNo } })).status).toBe('PENDING');
    } finally {
      wx.sandbox.holdRefunds(false);
    }
  });
});

describe('a refund notify on another attempt of the same order', () => {
  it('When a validly signed refund notify names our refund under the trade of another attempt of its order, then it is REJECTED and the refund untouched', async () => {
    // Found in review: the refund was checked against the notified trade's order, not against the trade it refunds.
    const { order, attemptNo: first } = await paying(wx.tenantId, PayWay.PAY_WAY_WECHAT_NATIVE);
    const second = (await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_H5, clientIp: '203.0.113.9', payerId: '' }))
      .attemptNo;
    wx.sandbox.holdRefunds(true);
    try {
      wx.sandbox.pay(second);
      await eventually(async () => (await orderRow(order.payNo)).status === 'SUCCESS');
      await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 1000n, reason: '' });
      const refundRow = await db().refund.findFirstOrThrow({ where: { payNo: order.payNo } });
      expect(refundRow.attemptNo).toBe(second);
      const resource = {
        out_trade_no: first, // the closed first attempt, not the refunded trade
        out_refund_no: refundRow.refundNo,
        refund_id: `50300${Date.now()}`,
        refund_status: 'SUCCESS',
        amount: { total: 2500, refund: 1000, payer_total: 2500, payer_refund: 1000 },
        mchid: wx.sandbox.trade(first)!.mchid,
      };
      const { body, headers } = wx.signedNotify('REFUND.SUCCESS', resource);
      expect((await postWechat(body, headers)).status).toBe(500);
      expect((await db().refund.findUniqueOrThrow({ where: { refundNo: refundRow.refundNo } })).status).toBe('PENDING');
    } finally {
      wx.sandbox.holdRefunds(false);
    }
  });
});

describe('a payment the channel reports as being refunded', () => {
  it('When a signed TRANSACTION.SUCCESS says trade_state=REFUND, then the payment is recorded and the order side and operators are told', async () => {
    const { order, attemptNo } = await paying(wx.tenantId, PayWay.PAY_WAY_WECHAT_NATIVE);
    const { body, headers } = wx.signedNotify('TRANSACTION.SUCCESS', transaction(attemptNo, order.amount, { trade_state: 'REFUND' }));
    expect((await postWechat(body, headers)).status).toBe(204);
    const row = await orderRow(order.payNo);
    expect(row.status).toBe('SUCCESS');
    // Not PAYMENT_SUCCEEDED: a consumer that knows only that must not ship against money that is going back.
    expect(await eventTypes(order.payNo)).toEqual(['PAYMENT_REFUNDED_AT_CHANNEL']);
    const [event] = await db().outboxEvent.findMany({ where: { payNo: order.payNo } });
    expect(event.payload).toMatchObject({ type: 'PAYMENT_EVENT_TYPE_PAYMENT_REFUNDED_AT_CHANNEL', status: 'ORDER_STATUS_SUCCESS' });
    const metrics = await (await fetch(`${h.notifyBaseUrl}/metrics`)).text();
    expect(metrics).toMatch(/paysvc_refunded_at_channel_total\{channel="wechat"\} [1-9]/);
    const { order: seen } = await h.call('query', { order: ref(order), sync: false });
    expect(seen!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });
});

describe('a payment the channel reports as being refunded, found by a query', () => {
  it('When a status query finds the trade paid and already refunded by someone else, then PAYMENT_REFUNDED_AT_CHANNEL', async () => {
    const tenant = await newTenant(h, 't-rq');
    const { order, attemptNo } = await paying(tenant, PayWay.PAY_WAY_MOCK);
    h.gateway.inject({ kind: 'dropNotify' }, 1000); // no notify reaches us: only the query can tell
    try {
      h.gateway.pay(attemptNo);
      // A refund made at the channel (its console), not through this service.
      const channelConsole = new MockGatewayClient({ gatewayUrl: h.gatewayUrl, secret: MOCK_SECRET, timeoutMs: 5000 });
      const request = { out_trade_no: attemptNo, out_refund_no: uniq('CONSOLE'), amount: '2500', total: '2500' };
      expect(await channelConsole.request('POST', '/v1/refunds', refundResponse, request)).toMatchObject({ kind: 'ok' });
      const { order: synced } = await h.call('query', { order: ref(order), sync: true });
      expect(synced!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
      expect(await eventTypes(order.payNo)).toEqual(['PAYMENT_REFUNDED_AT_CHANNEL']);
    } finally {
      h.gateway.clearFaults();
    }
  });
});

describe('duplicated signature fields are refused, not joined', () => {
  const WECHAT_SIGNATURE_HEADERS = ['Wechatpay-Signature', 'Wechatpay-Serial', 'Wechatpay-Timestamp', 'Wechatpay-Nonce'];
  it.each(WECHAT_SIGNATURE_HEADERS)(
    'When a WeChat notify carries %s twice, as two lines or joined into one, then it is rejected',
    async (name) => {
      for (const joined of [false, true]) {
        const { order, attemptNo } = await paying(wx.tenantId, PayWay.PAY_WAY_WECHAT_NATIVE);
        const { body, headers } = wx.signedNotify('TRANSACTION.SUCCESS', transaction(attemptNo, order.amount));
        const lines: [string, string][] = [
          ['Content-Type', 'application/json'],
          ...Object.entries(headers).filter(([k]) => !joined || k !== name),
        ];
        lines.push([name, joined ? `${headers[name]}, ${headers[name]}` : headers[name]]);
        const status = await postRaw(`/notify/wx/${wx.tenantId}/native`, body, lines);
        expect([name, joined, status]).toEqual([name, joined, 500]);
        expect((await orderRow(order.payNo)).status).toBe('PAYING');
        const record = await db().notifyRecord.findFirst({ where: { tenantId: wx.tenantId, rawPayload: body } });
        expect(record).toMatchObject({ result: 'REJECTED', signatureValid: false });
        if (!joined) expect(record!.detail).toContain('more than once');
        expect(record!.payNo).toBe(order.payNo); // the trade it names is still queried
        expect(scheduled).toContain(attemptNo);
      }
    },
  );

  it('When a mock notify carries X-Mock-Signature twice, as two lines or joined into one, then it is rejected', async () => {
    const tenant = await newTenant(h, 't-dup');
    for (const joined of [false, true]) {
      const { order, attemptNo } = await paying(tenant, PayWay.PAY_WAY_MOCK);
      const body = mockNotify(attemptNo);
      const headers = buildSignedHeaders(MOCK_SECRET, body);
      const sig = headers['X-Mock-Signature'];
      const lines: [string, string][] = [
        ['Content-Type', 'application/json'],
        ...Object.entries(headers).filter(([k]) => !joined || k !== 'X-Mock-Signature'),
      ];
      lines.push(['X-Mock-Signature', joined ? `${sig}, ${sig}` : sig]);
      expect(await postRaw(`/notify/mock/${tenant}/web`, body, lines)).toBe(500);
      expect((await orderRow(order.payNo)).status).toBe('PAYING');
    }
  });

  it.each(['sign', 'notify_id', 'out_trade_no'])('When an Alipay notify repeats the form field %s, then it is rejected', async (field) => {
    const { order, attemptNo } = await paying(ali.tenantId, PayWay.PAY_WAY_ALIPAY_QR);
    const signed = new URLSearchParams(ali.signedNotify(alipayFields(attemptNo, '25.00')));
    signed.append(field, signed.get(field)!);
    const res = await postAlipay(signed.toString());
    expect(res.status).toBe(500);
    expect((await orderRow(order.payNo)).status).toBe('PAYING');
  });
});
