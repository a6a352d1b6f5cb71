import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';

/** These tests rely on the status query an unverifiable notify or a close schedules: let it run at once. */
const SYNC_SOON = '150,300,600';
import { createOrder, ref } from '../support/orders';

let h: Harness;
let ali: AlipayTenant;
beforeAll(async () => {
  h = await startHarness({ STATUS_SYNC_DELAYS_MS: SYNC_SOON });
  ali = await alipayTenant(h, await newTenant(h, 't-ali'));
});
afterAll(async () => {
  await ali.close();
  await h.close();
});
afterEach(() => ali.sandbox.clearFaults());

const prepay = (o: PayOrder, payWay: PayWay) => h.call('prepay', { order: ref(o), payWay, clientIp: '203.0.113.7', payerId: '' });
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
const becomes = (o: PayOrder, s: OrderStatus) => eventually(async () => ((await statusOf(o)).status === s ? statusOf(o) : undefined));

/** How the buyer pays each pay way in the sandbox, from what Prepay handed out. */
const buyerPays: Record<string, (pre: { attemptNo: string; payload?: { $case: string; value: unknown } }) => Promise<void>> = {
  appOrderString: async (pre) => {
    ali.sandbox.payOrderString(pre.payload!.value as string);
  },
  redirectUrl: async (pre) => {
    const page = await fetch(pre.payload!.value as string); // the browser opens the cashier: the trade now exists
    expect(page.status).toBe(200);
    ali.sandbox.pay(pre.attemptNo);
  },
  qrCodeUrl: async (pre) => {
    ali.sandbox.pay(pre.attemptNo); // scans, then pays
  },
};

describe('Alipay', () => {
  it.each([
    ['ALIPAY_APP', PayWay.PAY_WAY_ALIPAY_APP, 'appOrderString'],
    ['ALIPAY_WAP', PayWay.PAY_WAY_ALIPAY_WAP, 'redirectUrl'],
    ['ALIPAY_PAGE', PayWay.PAY_WAY_ALIPAY_PAGE, 'redirectUrl'],
    ['ALIPAY_QR', PayWay.PAY_WAY_ALIPAY_QR, 'qrCodeUrl'],
  ])('When %s is prepaid and the sandbox buyer pays, then the signed notify makes the order SUCCESS', async (_, payWay, kind) => {
    const order = await createOrder(h, ali.tenantId, { amount: 8888n, returnUrl: 'https://shop.example/done' });
    const pre = await prepay(order, payWay);
    expect(pre.payload?.$case).toBe(kind);
    await buyerPays[kind](pre);
    const paid = await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    expect(paid.channelTradeNo).toBe(ali.sandbox.trade(pre.attemptNo)!.tradeNo);
    const notifies = await h.service.deps.db.notifyRecord.findMany({ where: { payNo: order.payNo } });
    expect(notifies.map((n) => [n.channel, n.result, n.signatureValid])).toContainEqual(['alipay', 'PROCESSED', true]);
  });

  it('When the notify is lost, then Query with sync finds the payment through alipay.trade.query', async () => {
    const order = await createOrder(h, ali.tenantId);
    const pre = await prepay(order, PayWay.PAY_WAY_ALIPAY_QR);
    expect((await h.call('query', { order: ref(order), sync: true })).order!.status).toBe(OrderStatus.ORDER_STATUS_PAYING); // not scanned yet
    ali.sandbox.inject({ kind: 'badNotifySignature' }, 100); // every delivery fails verification
    ali.sandbox.pay(pre.attemptNo);
    const synced = await h.call('query', { order: ref(order), sync: true });
    expect(synced.order!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it('When a paid order is refunded partly then fully, then alipay.trade.refund moves it to REFUNDED', async () => {
    const order = await createOrder(h, ali.tenantId, { amount: 10000n });
    const pre = await prepay(order, PayWay.PAY_WAY_ALIPAY_QR);
    ali.sandbox.pay(pre.attemptNo);
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    const first = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 2500n, reason: 'size' });
    expect(first.refund!.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
    const rest = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 7500n, reason: 'all' });
    expect(rest.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_REFUNDED, refundedAmount: 10000n });
    expect(ali.sandbox.refundedTotal(pre.attemptNo)).toBe(10000n);
    const synced = await h.call('queryRefund', { tenantId: ali.tenantId, outRefundNo: first.refund!.outRefundNo, sync: true });
    expect(synced.refund!.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
  });

  it('When an unpaid order is cancelled, then alipay.trade.close closes the trade first', async () => {
    const order = await createOrder(h, ali.tenantId);
    const pre = await prepay(order, PayWay.PAY_WAY_ALIPAY_QR);
    ali.sandbox.scan(pre.attemptNo);
    const { order: closed } = await h.call('cancel', { order: ref(order), reason: 'buyer left' });
    expect(closed!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(ali.sandbox.trade(pre.attemptNo)!.status).toBe('TRADE_CLOSED');
    // Alipay's TRADE_CLOSED notify (which may even overtake the close's own answer) ends the attempt, never
    // the order: it is not a failed payment, and the order side hears ORDER_CLOSED only.
    const db = h.service.deps.db;
    await eventually(async () => (await db.notifyRecord.count({ where: { payNo: order.payNo, channel: 'alipay' } })) > 0);
    expect((await db.notifyRecord.findMany({ where: { payNo: order.payNo } })).map((n) => n.result)).toEqual(['IGNORED']);
    expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect((await db.outboxEvent.findMany({ where: { payNo: order.payNo } })).map((e) => e.type)).toEqual(['ORDER_CLOSED']);
  });

  it('When the gateway times out on precreate, then UNAVAILABLE and the order stays PAYING with its attempt', async () => {
    // A sandbox of its own: on the shared one a status query the earlier tests scheduled could take the hang.
    const own = await alipayTenant(h, await newTenant(h, 't-alihang'));
    try {
      const order = await createOrder(h, own.tenantId);
      own.sandbox.inject({ kind: 'hang', ms: 60_000 }, 1); // past the channel timeout, however slow the machine
      await grpcError(prepay(order, PayWay.PAY_WAY_ALIPAY_QR), status.UNAVAILABLE);
      expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
      const retry = await prepay(order, PayWay.PAY_WAY_ALIPAY_QR);
      expect(retry.payload?.$case).toBe('qrCodeUrl');
    } finally {
      await own.close();
    }
  });

  it('When a tenant has no Alipay account, then Alipay pay ways are disabled and Prepay is refused', async () => {
    const tenant = await newTenant(h, 't-noali');
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    expect(payWays.find((w) => w.payWay === PayWay.PAY_WAY_ALIPAY_QR)!.enabled).toBe(false);
    expect(payWays.find((w) => w.payWay === PayWay.PAY_WAY_MOCK)!.enabled).toBe(true);
    const order = await createOrder(h, tenant);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_ALIPAY_QR), status.FAILED_PRECONDITION);
    expect(err.details).toContain('no alipay account');
  });

  it('When the account is stored, then its private key is sealed: the row never holds it in the clear', async () => {
    const row = await h.service.deps.db.channelAccount.findUniqueOrThrow({
      where: { tenantId_channel: { tenantId: ali.tenantId, channel: 'alipay' } },
    });
    expect(row.secrets).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(row.settings)).not.toContain('PRIVATE KEY');
    expect(row).toMatchObject({ appId: ali.appId, merchantId: ali.sellerId, keyId: 'dev' });
  });

  it('When the buyer also pays the attempt a pay way switch closed and its notify cannot be verified, then status sync reports the double payment and it is refunded at Alipay', async () => {
    const order = await createOrder(h, ali.tenantId);
    const first = await prepay(order, PayWay.PAY_WAY_ALIPAY_QR);
    const second = await prepay(order, PayWay.PAY_WAY_ALIPAY_PAGE); // closes the QR trade at Alipay
    await buyerPays.redirectUrl(second);
    await becomes(order, OrderStatus.ORDER_STATUS_SUCCESS);
    // The closed QR trade gets paid anyway, and every notify about it fails verification.
    ali.sandbox.inject({ kind: 'successAfterClose' }, 1);
    ali.sandbox.inject({ kind: 'badNotifySignature' }, 100);
    ali.sandbox.pay(first.attemptNo);
    const events = await eventually(async () => {
      const e = await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo }, orderBy: { orderVersion: 'asc' } });
      return e.some((x) => x.type === 'DUPLICATE_PAYMENT_REFUNDED') && e;
    }); // status sync, then the automatic refund: the default wait, not a tighter one
    expect(events.map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED', 'DUPLICATE_PAYMENT', 'DUPLICATE_PAYMENT_REFUNDED']);
    // DUPLICATE_PAYMENT_POLICY=refund (the default): the QR trade's payment goes back through alipay.trade.refund.
    expect(ali.sandbox.refundedTotal(first.attemptNo)).toBe(order.amount);
    expect(ali.sandbox.refundedTotal(second.attemptNo)).toBe(0n);
    expect(await statusOf(order)).toMatchObject({ status: OrderStatus.ORDER_STATUS_SUCCESS, refundedAmount: 0n });
  });
});
