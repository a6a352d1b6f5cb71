import { status } from '@grpc/grpc-js';
import { saveChannelAccount } from '../../src/app/channel-accounts';
import { KNOWN_CHANNELS } from '../../src/channels';
import { OrderStatus, PayWay, RefundStatus } from '../../src/gen/payment/v1/types';
import { SecretBox } from '../../src/infra/secret-box';
import { startLanternGateway, type LanternGateway } from '../support/fourth-channel/gateway';
import { LANTERN_LINK, lanternChannel } from '../support/fourth-channel/module';
import { SIGNATURE_HEADER, sign } from '../support/fourth-channel/protocol';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, orderRequest, ref } from '../support/orders';

/**
 * Proof that a channel is a module: Lantern Pay (test/support/fourth-channel/) is defined entirely in test/,
 * with its own signed protocol, adapter, prepay strategy, fake gateway and a pay way the proto does not have
 * (number 900). The service is built with the standard modules plus it; nothing under src/ names it.
 */
const MERCHANT = 'LM1001';
const KEY = 'lantern-test-key-0123456789';
const way = LANTERN_LINK as PayWay;

let h: Harness;
let gw: LanternGateway;
let tenant: string;

beforeAll(async () => {
  h = await startHarness({}, undefined, { channels: [...KNOWN_CHANNELS, lanternChannel] });
  gw = await startLanternGateway(MERCHANT, KEY);
  tenant = await newTenant(h, 't4', { mock: false });
  const account = { channel: 'lantern', merchant: MERCHANT, key: KEY, gatewayUrl: gw.url, notifyBaseUrl: h.notifyBaseUrl };
  await saveChannelAccount(h.service.deps.db, SecretBox.development(), tenant, account, h.service.deps.channels.modules);
}, 60_000);

afterAll(async () => {
  await h?.close();
  await gw?.close();
});

const prepay = (order: Parameters<typeof ref>[0]) => h.call('prepay', { order: ref(order), payWay: way, clientIp: '', payerId: '' });
const statusOf = async (order: Parameters<typeof ref>[0], sync = false) =>
  (await h.call('query', { order: ref(order), sync })).order!.status;
const postNotify = (segment: string, body: string, headers: Record<string, string>) =>
  fetch(`${h.notifyBaseUrl}/notify/${segment}/${tenant}/link`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

describe('A fourth channel defined outside src/', () => {
  it('When a tenant has an account at it, then ListPayWays offers its pay way under its own number, with its catalog facts', async () => {
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    expect(payWays.find((w) => w.payWay === way)).toEqual({
      payWay: LANTERN_LINK,
      name: 'Lantern Pay (pay link)',
      enabled: true,
      supportsQr: false,
      supportsRefund: true,
      feeRateBps: 25,
      feeRule: { rateBps: 25, minFee: 0n },
      displayOrder: 0,
      version: 0n,
      updatedBy: '',
    });
    // The tenant has no mock account: the mock pay ways are off for it.
    expect(payWays.filter((w) => w.payWay === PayWay.PAY_WAY_MOCK).map((w) => w.enabled)).toEqual([false]);
  });

  it('When an order is prepaid over gRPC, paid with a signed notify, queried with sync, refunded and its refund queried, then every step goes through it', async () => {
    const order = await createOrder(h, tenant, { payWay: way, amount: 8800n });
    expect(order.payWay).toBe(LANTERN_LINK);
    const pre = await prepay(order);
    expect(pre.payload).toEqual({ $case: 'redirectUrl', value: `https://lantern.example/pay/${pre.attemptNo}` });
    expect(gw.trade(pre.attemptNo)).toEqual({
      merchant: MERCHANT,
      out_trade_no: pre.attemptNo,
      status: 'WAITING',
      amount: '8800',
      currency: 'CNY',
    });

    const queries = gw.seen('GET /trades');
    expect(await statusOf(order, true)).toBe(OrderStatus.ORDER_STATUS_PAYING); // asked the gateway: WAITING
    expect(gw.seen('GET /trades')).toBe(queries + 1);

    // The notify comes in on the route derived from the module, verified and answered in the channel's dialect.
    expect(await gw.pay(pre.attemptNo)).toEqual({ status: 200, body: 'OK' });
    expect(await statusOf(order)).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    const records = await h.service.deps.db.notifyRecord.findMany({ where: { tenantId: tenant, channel: 'lantern' } });
    expect(records.map((r) => [r.result, r.signatureValid, r.kind])).toEqual([['PROCESSED', true, 'payment']]);
    expect(Object.keys(records[0].headers as object)).toContain(SIGNATURE_HEADER);

    const outRefundNo = uniq('r');
    const { refund } = await h.call('refund', { order: ref(order), outRefundNo, amount: 3000n, reason: 'damaged' });
    expect([refund!.status, refund!.amount]).toEqual([RefundStatus.REFUND_STATUS_SUCCESS, 3000n]);
    const queried = await h.call('queryRefund', { tenantId: tenant, outRefundNo, sync: true });
    expect([queried.refund!.status, queried.refund!.amount]).toEqual([RefundStatus.REFUND_STATUS_SUCCESS, 3000n]);
    expect(gw.seen('POST /refunds')).toBe(1);
  });

  it('When its gateway does not answer a Prepay in time, then it is UNAVAILABLE; the retry opens the trade and a Cancel closes it there', async () => {
    const order = await createOrder(h, tenant, { payWay: way });
    gw.hangNext();
    await grpcError(prepay(order), status.UNAVAILABLE);
    const pre = await prepay(order);
    expect(gw.trade(pre.attemptNo)?.status).toBe('WAITING');
    const { order: cancelled } = await h.call('cancel', { order: ref(order), reason: 'buyer left' });
    expect(cancelled!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(gw.trade(pre.attemptNo)?.status).toBe('CLOSED');
  });

  it('When a Cancel finds the trade paid without a notify, then the guard confirms it by a query and the order is paid', async () => {
    const order = await createOrder(h, tenant, { payWay: way, amount: 1200n });
    const pre = await prepay(order);
    await gw.pay(pre.attemptNo, { notify: false });
    const err = await grpcError(h.call('cancel', { order: ref(order), reason: 'too late' }), status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/is paid \(SUCCESS\) and cannot be cancelled/);
    expect(await statusOf(order)).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it('When a notify is not validly signed, then it is refused in the channel’s dialect and changes nothing', async () => {
    const order = await createOrder(h, tenant, { payWay: way, amount: 500n });
    const pre = await prepay(order);
    const body = JSON.stringify({
      notify_id: 'n-forged',
      event: 'PAID',
      merchant: MERCHANT,
      out_trade_no: pre.attemptNo,
      amount: '500',
      currency: 'CNY',
      paid_at: new Date().toISOString(),
    });
    const res = await postNotify('lantern', body, { [SIGNATURE_HEADER]: sign('another-key-0123456789', 'notify', body) });
    expect([res.status, await res.text()]).toEqual([400, 'RETRY']);
    expect(await statusOf(order)).toBe(OrderStatus.ORDER_STATUS_PAYING);
  });

  it('When a notify names a channel segment no module has, then it is 404', async () => {
    const res = await postNotify('nosuch', '{}', {});
    expect([res.status, await res.json()]).toEqual([404, { code: 'NOT_FOUND', message: 'no such channel' }]);
  });

  it('When a pay way number no module defines is sent, then it is INVALID_ARGUMENT', async () => {
    const err = await grpcError(h.call('createOrder', orderRequest(tenant, { payWay: 901 as PayWay })), status.INVALID_ARGUMENT);
    expect(err.details).toBe('pay_way: is not a pay way this service knows');
    const prepayErr = await grpcError(
      h.call('prepay', { order: ref(await createOrder(h, tenant)), payWay: 901 as PayWay, clientIp: '', payerId: '' }),
      status.INVALID_ARGUMENT,
    );
    expect(prepayErr.details).toBe('pay_way: 901 is not a pay way this service knows');
  });
});
