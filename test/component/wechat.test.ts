import { status } from '@grpc/grpc-js';
import { createVerify } from 'node:crypto';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { wechatTenant, type WechatTenant } from '../support/channels';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

let h: Harness;
let wx: WechatTenant;
beforeAll(async () => {
  h = await startHarness();
  wx = await wechatTenant(h, await newTenant(h, 't-wx'));
});
afterAll(async () => {
  await wx.close();
  await h.close();
});
afterEach(() => {
  wx.sandbox.clearFaults();
  wx.sandbox.holdRefunds(false);
});

const prepay = (o: PayOrder, payWay: PayWay, payerId = '') => h.call('prepay', { order: ref(o), payWay, clientIp: '203.0.113.7', payerId });
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
const becomes = (o: PayOrder, s: OrderStatus) => eventually(async () => ((await statusOf(o)).status === s ? statusOf(o) : undefined));
const verifies = (message: string, signature: string) =>
  createVerify('RSA-SHA256').update(message).verify(wx.merchantPublicKey, signature, 'base64');

describe('WeChat Pay v3', () => {
  it('When WECHAT_JSAPI is prepaid, then the client gets paySign-ed params, and the paid notify makes it SUCCESS', async () => {
    const order = await createOrder(h, wx.tenantId, { amount: 1999n });
    const pre = await prepay(order, PayWay.PAY_WAY_WECHAT_JSAPI, 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
    expect(pre.payload?.$case).toBe('signParams');
    const p = (pre.payload as { value: { params: Record<string, string> } }).value.params;
    expect(p).toMatchObject({ appId: wx.appId, signType: 'RSA' });
    expect(p.package).toMatch(/^prepay_id=/);
    expect(verifies(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`, p.paySign)).toBe(true);
    wx.sandbox.pay(pre.attemptNo);
    const paid = await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    expect(paid.channelTradeNo).toBe(wx.sandbox.trade(pre.attemptNo)!.transaction_id);
  });

  it('When WECHAT_APP is prepaid, then the OpenSDK params are signed over the bare prepayid', async () => {
    const order = await createOrder(h, wx.tenantId);
    const pre = await prepay(order, PayWay.PAY_WAY_WECHAT_APP);
    const p = (pre.payload as { value: { params: Record<string, string> } }).value.params;
    expect(p).toMatchObject({ appid: wx.appId, partnerid: wx.mchId, package: 'Sign=WXPay' });
    expect(verifies(`${p.appid}\n${p.timestamp}\n${p.noncestr}\n${p.prepayid}\n`, p.sign)).toBe(true);
    wx.sandbox.pay(pre.attemptNo);
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it.each([
    ['WECHAT_NATIVE', PayWay.PAY_WAY_WECHAT_NATIVE, 'qrCodeUrl'],
    ['WECHAT_H5', PayWay.PAY_WAY_WECHAT_H5, 'redirectUrl'],
  ])('When %s is prepaid and the buyer pays on the cashier page, then the order is SUCCESS', async (_, payWay, kind) => {
    const order = await createOrder(h, wx.tenantId, { returnUrl: 'https://shop.example/done' });
    const pre = await prepay(order, payWay);
    expect(pre.payload?.$case).toBe(kind);
    const url = pre.payload!.value as string;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url, { method: 'POST' })).status).toBe(200); // the buyer presses Pay
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it("When a JSAPI prepay is replayed for another payer, then ALREADY_EXISTS: one payer's prepay_id is never handed to another", async () => {
    const order = await createOrder(h, wx.tenantId);
    await prepay(order, PayWay.PAY_WAY_WECHAT_JSAPI, 'oUpF8uMuAJO_first');
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_WECHAT_JSAPI, 'oUpF8uMuAJO_other'), status.ALREADY_EXISTS);
    expect(err.details).toContain('payer_id');
    expect((await prepay(order, PayWay.PAY_WAY_WECHAT_JSAPI, 'oUpF8uMuAJO_first')).replayed).toBe(true);
  });

  it.each([
    ['JSAPI has no payer openid', PayWay.PAY_WAY_WECHAT_JSAPI, { clientIp: '203.0.113.7', payerId: '' }, 'payer_id'],
    ['H5 has no client IP (here or on the order)', PayWay.PAY_WAY_WECHAT_H5, { clientIp: '', payerId: '' }, 'client_ip'],
  ])('When %s, then Prepay is INVALID_ARGUMENT naming the field, and nothing is written', async (_, payWay, inputs, field) => {
    const order = await createOrder(h, wx.tenantId);
    const err = await grpcError(h.call('prepay', { order: ref(order), payWay, ...inputs }), status.INVALID_ARGUMENT);
    expect(err.metadata.get('field')).toEqual([field]);
    expect(err.details).toContain(`${field}: is required for ${PayWay[payWay].replace('PAY_WAY_', '')}`);
    const db = h.service.deps.db;
    expect(await db.payAttempt.count({ where: { payNo: order.payNo } })).toBe(0);
    expect(await db.orderTransition.count({ where: { payNo: order.payNo } })).toBe(0);
    const row = await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect([row.status, row.version]).toEqual(['WAIT_PAY', 1n]);
  });

  it("When H5 gets no client IP but the order has one, then Prepay uses the order's", async () => {
    const order = await createOrder(h, wx.tenantId, { clientIp: '198.51.100.4' });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_H5, clientIp: '', payerId: '' });
    expect(pre.payload?.$case).toBe('redirectUrl');
  });

  it('When the notify is a SIGNTEST probe, then it is refused, and a status sync still finds the payment', async () => {
    const order = await createOrder(h, wx.tenantId);
    const pre = await prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE);
    wx.sandbox.inject({ kind: 'signTestNotify' }, 100);
    wx.sandbox.pay(pre.attemptNo);
    await eventually(
      async () =>
        (await h.service.deps.db.notifyRecord.count({ where: { channel: 'wechat', tenantId: wx.tenantId, result: 'REJECTED' } })) > 0,
    );
    expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
    expect((await h.call('query', { order: ref(order), sync: true })).order!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it('When a paid order is refunded partly, pending, then fully, then the refunds settle through query and notify', async () => {
    const order = await createOrder(h, wx.tenantId, { amount: 5000n });
    const pre = await prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE);
    wx.sandbox.pay(pre.attemptNo);
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    const part = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 2000n, reason: 'broken' });
    expect(part.order!.status).toBe(OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED);
    wx.sandbox.holdRefunds(true);
    const rest = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 3000n, reason: 'all' });
    expect(rest.refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    wx.sandbox.settleRefund(rest.refund!.refundNo, 'SUCCESS'); // its REFUND.SUCCESS notify settles it
    const done = await becomes(order, OrderStatus.ORDER_STATUS_REFUNDED);
    expect(done.refundedAmount).toBe(5000n);
    expect(wx.sandbox.refundedTotal(pre.attemptNo)).toBe(5000n);
  });

  it('When an unpaid order is cancelled, then the trade is closed at WeChat (204) first', async () => {
    const order = await createOrder(h, wx.tenantId);
    const pre = await prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE);
    expect((await h.call('cancel', { order: ref(order), reason: '' })).order!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(wx.sandbox.trade(pre.attemptNo)!.trade_state).toBe('CLOSED');
  });

  it('When WeChat answers 5xx or with a bad signature, then the outcome is unknown: UNAVAILABLE, order unchanged', async () => {
    const order = await createOrder(h, wx.tenantId);
    wx.sandbox.inject({ kind: 'badResponseSignature' }, 1);
    await grpcError(prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE), status.UNAVAILABLE);
    expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
    wx.sandbox.inject({ kind: 'serverError' }, 1);
    await grpcError(prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE), status.UNAVAILABLE);
    expect((await prepay(order, PayWay.PAY_WAY_WECHAT_NATIVE)).payload?.$case).toBe('qrCodeUrl');
  });
});
