import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { PayWay } from '../../src/gen/payment/v1/types';
import { MOCK_SECRET, mockAccount, newTenant, startHarness, type Harness } from '../support/harness';
import { mockPaymentNotify } from '../support/mock-notify';
import { createOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-notify');
});
afterAll(() => h.close());

let TENANT: string;

/** A PAYING order on the mock channel whose buyer has not paid: the test plays the channel's notifier. */
async function payingOrder() {
  const order = await createOrder(h, TENANT, { amount: 2500n });
  const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
  return { order, attemptNo: pre.attemptNo };
}

function paymentNotify(attemptNo: string, over: Record<string, string> = {}) {
  // A trade made in the database only has no gateway trade to take the merchant and amount from.
  const made = h.gateway.trade(attemptNo) ? {} : { mch_id: mockAccount(h, TENANT).merchantId, amount: '2500' };
  return mockPaymentNotify(h, attemptNo, { ...made, ...over });
}

function post(body: string, headers: Record<string, string> = buildSignedHeaders(MOCK_SECRET, body), tenant = TENANT) {
  return fetch(`${h.notifyBaseUrl}/notify/mock/${tenant}/web`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

/** A refused notify gets the mock channel's FAIL answer (HTTP 500), which makes the channel deliver it again. */
const REFUSED = 500;

const orderRow = (payNo: string) => h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo } });
const records = (payNo: string) =>
  h.service.deps.db.notifyRecord.findMany({ where: { payNo }, orderBy: { id: 'asc' } }).then((r) => r.map((n) => n.result));

describe('mock channel notify', () => {
  it('When 100 identical valid notifies arrive at once, then one transition, one event, and every answer is SUCCESS', async () => {
    const { order, attemptNo } = await payingOrder();
    const body = paymentNotify(attemptNo);
    const responses = await Promise.all(Array.from({ length: 100 }, () => post(body)));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(new Set(await Promise.all(responses.map((r) => r.text())))).toEqual(new Set(['{"code":"SUCCESS"}']));
    const db = h.service.deps.db;
    expect((await orderRow(order.payNo)).status).toBe('SUCCESS');
    expect(await db.orderTransition.count({ where: { payNo: order.payNo, toStatus: 'SUCCESS' } })).toBe(1);
    expect(await db.outboxEvent.count({ where: { payNo: order.payNo } })).toBe(1);
    const results = await records(order.payNo);
    expect(results.filter((r) => r === 'PROCESSED')).toHaveLength(1);
    expect(results.filter((r) => r === 'DUPLICATE')).toHaveLength(99);
    const metrics = await (await fetch(`${h.notifyBaseUrl}/metrics`)).text();
    expect(metrics).toMatch(/paysvc_notify_total\{channel="mock",result="DUPLICATE"\} (99|1\d\d)/);
    expect(metrics).toMatch(/paysvc_rpc_duration_seconds_count\{method="Prepay",code="OK"\} \d+/);
  });

  it('When a second attempt of a paid order is paid too, then a DUPLICATE_PAYMENT event tells the order side', async () => {
    // Held for an operator: the second attempt is made up here, the gateway never saw it to refund it
    // (test/component/duplicate-payment.test.ts has the refund policy, through the gateway).
    h.service.deps.duplicatePayment = 'hold';
    const { order, attemptNo } = await payingOrder();
    expect((await post(paymentNotify(attemptNo))).status).toBe(200);
    // An earlier attempt the buyer still had open in another app (closed locally, paid anyway at the channel).
    const second = `A${Date.now()}DUP${Math.floor(Math.random() * 1e6)}`.slice(0, 27);
    await h.service.deps.db.payAttempt.create({
      data: {
        attemptNo: second,
        payNo: order.payNo,
        tenantId: TENANT,
        payWay: 'MOCK',
        channel: 'mock',
        status: 'CLOSED',
        payerId: '',
        clientIp: '',
      },
    });
    expect((await post(paymentNotify(second))).status).toBe(200);
    const events = await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo }, orderBy: { orderVersion: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED', 'DUPLICATE_PAYMENT']);
    expect(events[1].payload).toMatchObject({ channelTradeNo: `MT${second}`, status: 'ORDER_STATUS_SUCCESS' });
    expect(events[1].orderVersion).toBeGreaterThan(events[0].orderVersion);
    expect((await orderRow(order.payNo)).status).toBe('SUCCESS');
    expect(await h.service.deps.db.refund.count({ where: { payNo: order.payNo } })).toBe(0);
    h.service.deps.duplicatePayment = 'refund';
  });

  it('When the signature is wrong, then the notify is refused, recorded, and changes nothing', async () => {
    const { order, attemptNo } = await payingOrder();
    const body = paymentNotify(attemptNo);
    const res = await post(body, buildSignedHeaders('not-the-secret-at-all', body));
    expect(res.status).toBe(REFUSED);
    expect(await res.json()).toMatchObject({ code: 'FAIL' });
    expect((await orderRow(order.payNo)).status).toBe('PAYING');
    const rejected = await h.service.deps.db.notifyRecord.findFirst({ where: { tenantId: TENANT, rawPayload: body } });
    expect(rejected).toMatchObject({ result: 'REJECTED', signatureValid: false });
  });

  it('When the timestamp is stale, then the notify is refused', async () => {
    const { order, attemptNo } = await payingOrder();
    const body = paymentNotify(attemptNo);
    const res = await post(body, buildSignedHeaders(MOCK_SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 301 }));
    expect(res.status).toBe(REFUSED);
    expect((await orderRow(order.payNo)).status).toBe('PAYING');
  });

  it('When a validly signed notify reports another amount, then it is rejected and the order is untouched', async () => {
    const { order, attemptNo } = await payingOrder();
    const res = await post(paymentNotify(attemptNo, { amount: '1' }));
    expect(res.status).toBe(REFUSED);
    expect((await orderRow(order.payNo)).status).toBe('PAYING');
    expect(await records(order.payNo)).toEqual(['REJECTED']);
    expect(await h.service.deps.db.outboxEvent.count({ where: { payNo: order.payNo } })).toBe(0);
  });

  it('When the notify names another tenant or an unknown trade, then it is rejected', async () => {
    const { order, attemptNo } = await payingOrder();
    expect((await post(paymentNotify(attemptNo), undefined, 't-someone-else')).status).toBe(REFUSED);
    expect((await post(paymentNotify('A00000000000000NOSUCHTRADE'))).status).toBe(REFUSED);
    expect((await orderRow(order.payNo)).status).toBe('PAYING');
  });

  it('When the body is malformed, oversized or the path is wrong, then a clean refusal and nothing changes', async () => {
    const garbage = 'not json';
    const refused = await post(garbage); // signed, so it reaches the channel's parser: refused like any bad notify
    expect(refused.status).toBe(REFUSED);
    expect(await refused.json()).toMatchObject({ code: 'FAIL' });
    const huge = 'x'.repeat(70 * 1024);
    expect((await post(huge, buildSignedHeaders(MOCK_SECRET, huge))).status).toBe(413);
    const res = await fetch(`${h.notifyBaseUrl}/notify/nochannel/${TENANT}/web`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    const bad = await fetch(`${h.notifyBaseUrl}/notify/mock/bad%20tenant/web`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(404); // a tenant segment outside the tenant_id rule names no notify URL
    const form = await fetch(`${h.notifyBaseUrl}/notify/mock/${TENANT}/web`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(form.status).toBe(415);
  });
});
