import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { alipayTenant, wechatTenant, type AlipayTenant, type WechatTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';

/** These tests rely on the status query an unverifiable notify or a close schedules: let it run at once. */
const SYNC_SOON = '150,300,600';
import { createOrder, ref } from '../support/orders';

let h: Harness;
let ali: AlipayTenant;
let wx: WechatTenant;
beforeAll(async () => {
  // Each WeChat case draws up to 16 rejected deliveries (its whole retry schedule, time-scaled) per minute.
  h = await startHarness({ NOTIFY_REJECT_LIMIT_PER_MINUTE: '60', STATUS_SYNC_DELAYS_MS: SYNC_SOON });
  ali = await alipayTenant(h, await newTenant(h, 't-nali'));
  wx = await wechatTenant(h, await newTenant(h, 't-nwx'));
});
afterAll(async () => {
  await Promise.all([ali.close(), wx.close()]);
  await h.close();
});
afterEach(() => {
  ali.sandbox.clearFaults();
  wx.sandbox.clearFaults();
});

const db = () => h.service.deps.db;
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
const becomes = (o: PayOrder, s: OrderStatus) => eventually(async () => ((await statusOf(o)).status === s ? statusOf(o) : undefined));
const results = (o: PayOrder) => db().notifyRecord.findMany({ where: { payNo: o.payNo }, orderBy: { id: 'asc' } });

describe('channel notifies', () => {
  it.each([['signTestNotify'], ['staleNotifyTimestamp'], ['unknownNotifySerial']] as const)(
    'When every WeChat notify fails verification (%s), then each is recorded REJECTED and the triggered status query still finds the payment',
    async (fault) => {
      const order = await createOrder(h, wx.tenantId);
      const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_WECHAT_NATIVE, clientIp: '', payerId: '' });
      wx.sandbox.inject({ kind: fault }, 1000);
      wx.sandbox.pay(pre.attemptNo);
      await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
      const records = await results(order);
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => r.result === 'REJECTED' && !r.signatureValid)).toBe(true);
      const trail = await db().orderTransition.findMany({ where: { payNo: order.payNo, toStatus: 'SUCCESS' } });
      expect(trail.map((t) => t.cause)).toEqual(['SYNC']);
    },
  );

  it('When a validly signed Alipay notify names another seller, then it is rejected, and the status query finds the payment', async () => {
    const other = await alipayTenant(h, await newTenant(h, 't-nseller'), '2088000000000009');
    try {
      const order = await createOrder(h, other.tenantId);
      const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
      other.sandbox.pay(pre.attemptNo);
      await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
      const rejected = (await results(order)).filter((r) => r.result === 'REJECTED');
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected[0].detail).toContain('another merchant');
    } finally {
      await other.close();
    }
  });

  it('When Alipay sends refund notifies after partial and full refunds, then they are verified and change nothing more', async () => {
    const order = await createOrder(h, ali.tenantId, { amount: 6000n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '', payerId: '' });
    ali.sandbox.pay(pre.attemptNo);
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 1000n, reason: '' });
    await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 5000n, reason: '' });
    // Partial refund: TRADE_SUCCESS with out_biz_no; full refund: TRADE_CLOSED with out_biz_no.
    await eventually(async () => (await results(order)).filter((r) => r.kind === 'refund').length >= 2);
    const refundRecords = (await results(order)).filter((r) => r.kind === 'refund');
    expect(refundRecords.every((r) => r.signatureValid && r.result !== 'REJECTED')).toBe(true);
    expect(await statusOf(order)).toMatchObject({ status: OrderStatus.ORDER_STATUS_REFUNDED, refundedAmount: 6000n });
    const events = await db().outboxEvent.findMany({ where: { payNo: order.payNo } });
    expect(events.map((e) => e.type).sort()).toEqual(['PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED', 'REFUND_SUCCEEDED']);
  });

  it("When a tenant has no account at the channel, then its notifies are rejected in the channel's dialect", async () => {
    const res = await fetch(`${h.notifyBaseUrl}/notify/alipay/${await newTenant(h, 't-ghost')}/qr`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'out_trade_no=A1&trade_status=TRADE_SUCCESS&sign=abc',
    });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('4');
    expect(await res.text()).toBe('fail'); // Alipay's refusal: anything but 'success' is delivered again
    const wechat = await fetch(`${h.notifyBaseUrl}/notify/wx/${await newTenant(h, 't-ghost')}/native`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(wechat.status).toBe(500);
    expect(wechat.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const refusal = await wechat.text();
    expect(wechat.headers.get('content-length')).toBe(String(Buffer.byteLength(refusal)));
    expect(JSON.parse(refusal)).toEqual({ code: 'FAIL', message: expect.any(String) });
  });

  it('When one tenant floods unverifiable notifies, then past the per-minute limit they are refused unread with 429', async () => {
    const send = (tenant: string) =>
      fetch(`${h.notifyBaseUrl}/notify/mock/${tenant}/web`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    // The limit counts per clock minute, so a flood that crosses a minute's end is two floods. Rather than
    // guess how long 63 notifies take on this machine, flood again with a fresh tenant until one fits a minute.
    const minute = () => Math.floor(Date.now() / 60_000);
    let tenant: string;
    let statuses: number[];
    for (let floods = 0; ; floods++) {
      if (floods === 3) throw new Error('three floods in a row crossed a minute boundary');
      tenant = await newTenant(h, 't-flood');
      const began = minute();
      statuses = [];
      for (let i = 0; i < 63; i++) statuses.push((await send(tenant)).status);
      if (minute() === began) break;
    }
    expect(statuses.slice(0, 60).every((s) => s === 500)).toBe(true);
    expect(statuses.slice(60)).toEqual([429, 429, 429]);
    expect(await db().notifyRecord.count({ where: { tenantId: tenant } })).toBe(60);
    // Another tenant is not affected.
    const ok = await fetch(`${h.notifyBaseUrl}/notify/mock/${await newTenant(h, 't-calm')}/web`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(ok.status).toBe(500);
  });
});
