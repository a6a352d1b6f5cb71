import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerify } from 'node:crypto';
import type { NotifyVerification, RefundSnapshot, TradeSnapshot, VerifiedNotify } from '../../src/channels/types';
import { type WechatAccount, wechatHandlers } from '../../src/channels/wechat';
import { createWechatSandbox, generateWechatSandboxKeys, type WechatSandbox } from '../../sandboxes/wechat';
import { responseMessage, verify } from '../../src/channels/wechat/signing';

const keys = generateWechatSandboxKeys();
const MCH_A = '1900000001';
const MCH_B = '1900000002';
const APP_ID = 'wxd678efh567hg6787';

interface Receipt {
  path: string;
  headers: IncomingHttpHeaders;
  verification: NotifyVerification;
}

let sandbox: WechatSandbox;
let sandboxUrl: string;
let receiver: Server;
let account: WechatAccount;
let accountB: WechatAccount;
const receipts: Receipt[] = [];
/** The receiver answers FAIL to this many more valid notifies. */
let refuseValid = 0;

const [app, jsapi, native, h5] = wechatHandlers({ timeoutMs: 10_000 }); // generous: a loaded machine signs slowly
const call = () => ({ account });

beforeAll(async () => {
  const { merchantSerial, merchantPublicKey, apiV3Key } = keys;
  const merchant = { appId: APP_ID, merchantSerial, merchantPublicKey, apiV3Key };
  sandbox = createWechatSandbox({
    platformPrivateKey: keys.platformPrivateKey,
    platformPublicKeyId: keys.platformPublicKeyId,
    timeScale: 0.001,
    merchants: [
      { mchId: MCH_A, ...merchant },
      { mchId: MCH_B, ...merchant },
    ],
  });
  sandboxUrl = await sandbox.listen(0);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A notify this receiver cannot handle is answered 500 (the gateway delivers it again), not left hanging.
    const broken = (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    req.on('end', () => {
      void (async () => {
        const [, , , tenantId, terminalType] = (req.url ?? '').split('/');
        const raw = { tenantId, terminalType, headers: req.headers as Record<string, string | undefined>, rawBody: Buffer.concat(chunks) };
        // As the sidecar does: the tenant's account from the URL, any handler of the channel.
        const verification = await native.verifyNotify(raw, tenantId === 't1' ? account : undefined);
        receipts.push({ path: req.url ?? '', headers: req.headers, verification });
        const accepted = verification.valid && refuseValid-- <= 0;
        const ack = native.ackNotify(accepted, verification.valid ? 'try again' : verification.reason);
        res.writeHead(ack.status, { 'Content-Type': ack.contentType }).end(ack.body);
      })().catch(broken);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  account = {
    channel: 'wechat',
    mchId: MCH_A,
    appId: APP_ID,
    merchantPrivateKey: keys.merchantPrivateKey,
    merchantSerial: keys.merchantSerial,
    platformPublicKey: keys.platformPublicKey,
    platformPublicKeyId: keys.platformPublicKeyId,
    apiV3Key: keys.apiV3Key,
    baseUrl: `${sandboxUrl}/`,
    notifyBaseUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  };
  accountB = { ...account, mchId: MCH_B };
});

afterEach(() => {
  sandbox.clearFaults();
  sandbox.holdRefunds(false);
  refuseValid = 0;
});

afterAll(async () => {
  await sandbox.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

let seq = 0;
function tradeSnapshot(change: Partial<TradeSnapshot> = {}): TradeSnapshot {
  seq += 1;
  return {
    tenantId: 't1',
    payNo: `P${seq}`,
    attemptNo: `A${Date.now()}X${seq}`,
    amount: 1234n,
    currency: 'CNY',
    subject: '绿茶 Green tea',
    description: '',
    attach: '',
    expireAt: new Date(Date.now() + 15 * 60_000),
    clientIp: '203.0.113.7',
    payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    returnUrl: '',
    ...change,
  };
}

function refundSnapshot(trade: TradeSnapshot, amount: bigint): RefundSnapshot {
  const { tenantId, payNo, attemptNo, currency } = trade;
  return { tenantId, payNo, attemptNo, refundNo: `R${Date.now()}X${++seq}`, tradeAmount: trade.amount, amount, currency, reason: 'test' };
}

async function prepaid(change: Partial<TradeSnapshot> = {}): Promise<TradeSnapshot> {
  const trade = tradeSnapshot(change);
  const result = await native.prepay(trade, call());
  if (result.outcome !== 'success') throw new Error(JSON.stringify(result));
  return trade;
}

async function paid(change: Partial<TradeSnapshot> = {}): Promise<TradeSnapshot> {
  const trade = await prepaid(change);
  sandbox.pay(trade.attemptNo);
  return trade;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type ValidReceipt = Receipt & { notify: VerifiedNotify };

/** Valid notifies received for a trade, waiting until there are at least `count` of them. */
async function notifiesFor(attemptNo: string, count = 1): Promise<ValidReceipt[]> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(10)) {
    const found = receipts.flatMap((r) => {
      const v = r.verification;
      return v.valid && v.notify.attemptNo === attemptNo ? [{ ...r, notify: v.notify }] : [];
    });
    if (found.length >= count) return found;
  }
  throw new Error(`fewer than ${count} notifies for ${attemptNo}`);
}

const rsaVerify = (message: string, signature: string) =>
  createVerify('RSA-SHA256').update(message).verify(keys.merchantPublicKey, signature, 'base64');

const paymentOf = (trade: TradeSnapshot) => ({
  kind: 'payment',
  attemptNo: trade.attemptNo,
  notifyId: expect.any(String),
  status: expect.objectContaining({
    outcome: 'success',
    channelStatus: 'SUCCESS',
    paidAmount: trade.amount,
    currency: 'CNY',
    channelTradeNo: expect.stringMatching(/^4200\d{24}$/),
  }),
});

describe('each pay way: prepay → buyer pays → signed, encrypted notify → success', () => {
  it('WECHAT_APP hands out an OpenSDK PayReq signed with the merchant key', async () => {
    const trade = tradeSnapshot();
    const result = await app.prepay(trade, call());
    if (result.outcome !== 'success' || result.payload.kind !== 'signParams') throw new Error(JSON.stringify(result));
    const p = result.payload.value;
    expect(Object.keys(p).sort()).toEqual(['appid', 'noncestr', 'package', 'partnerid', 'prepayid', 'sign', 'timestamp']);
    expect(p).toMatchObject({
      appid: APP_ID,
      partnerid: MCH_A,
      prepayid: expect.stringMatching(/^wx/),
      package: 'Sign=WXPay',
      timestamp: expect.stringMatching(/^\d{10}$/),
    });
    expect(p.noncestr).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(rsaVerify(`${p.appid}\n${p.timestamp}\n${p.noncestr}\n${p.prepayid}\n`, p.sign)).toBe(true);
    expect([app.payWay, app.supportsQr, app.channel]).toEqual(['WECHAT_APP', false, 'wechat']);

    sandbox.pay(trade.attemptNo);
    const [receipt] = await notifiesFor(trade.attemptNo);
    expect(receipt.path).toBe('/notify/wx/t1/app');
    expect(receipt.notify).toEqual(paymentOf(trade));
    const status = await app.query(trade, call());
    expect(status).toMatchObject({ outcome: 'success', channelStatus: 'SUCCESS', paidAmount: 1234n, paidAt: expect.any(Date) });
  });

  it('WECHAT_JSAPI hands out paySign params, and fails without an openid', async () => {
    const trade = tradeSnapshot();
    const result = await jsapi.prepay(trade, call());
    if (result.outcome !== 'success' || result.payload.kind !== 'signParams') throw new Error(JSON.stringify(result));
    const p = result.payload.value;
    expect(Object.keys(p).sort()).toEqual(['appId', 'nonceStr', 'package', 'paySign', 'signType', 'timeStamp']);
    expect(p).toMatchObject({ appId: APP_ID, package: expect.stringMatching(/^prepay_id=wx/), signType: 'RSA' });
    expect(rsaVerify(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`, p.paySign)).toBe(true);

    sandbox.pay(trade.attemptNo);
    const [receipt] = await notifiesFor(trade.attemptNo);
    expect(receipt.path).toBe('/notify/wx/t1/jsapi');
    expect(receipt.notify).toEqual(paymentOf(trade));
    expect(sandbox.trade(trade.attemptNo)).toMatchObject({ trade_type: 'JSAPI', payer: { openid: trade.payerId } });

    const anonymous = tradeSnapshot({ payerId: '' });
    expect(await jsapi.prepay(anonymous, call())).toEqual({ outcome: 'fail', reason: 'JSAPI needs the payer openid (payerId)' });
    expect(sandbox.trade(anonymous.attemptNo)).toBeUndefined();
  });

  it('WECHAT_NATIVE hands out the code_url as QR content; its page pays', async () => {
    const trade = tradeSnapshot();
    const result = await native.prepay(trade, call());
    if (result.outcome !== 'success' || result.payload.kind !== 'qrCodeUrl') throw new Error(JSON.stringify(result));
    expect(native.supportsQr).toBe(true);
    expect(result.payload.value).toMatch(new RegExp(`^${sandboxUrl}/wxpay/bizpayurl\\?pr=`));
    expect(await fetch(result.payload.value).then((r) => r.text())).toContain('¥12.34');
    const pay = await fetch(result.payload.value, { method: 'POST', headers: { Accept: 'application/json' } });
    expect(await pay.json()).toMatchObject({ out_trade_no: trade.attemptNo, trade_state: 'SUCCESS', trade_type: 'NATIVE' });

    const [receipt] = await notifiesFor(trade.attemptNo);
    expect(receipt.path).toBe('/notify/wx/t1/native');
    expect(receipt.notify).toEqual(paymentOf(trade));
  });

  it('WECHAT_H5 hands out the h5_url with the return URL; its cashier page pays', async () => {
    const returnUrl = 'https://shop.example.com/return?order=42&x=a b';
    const trade = tradeSnapshot({ returnUrl });
    const result = await h5.prepay(trade, call());
    if (result.outcome !== 'success' || result.payload.kind !== 'redirectUrl') throw new Error(JSON.stringify(result));
    const url = new URL(result.payload.value);
    expect(`${url.origin}${url.pathname}`).toBe(`${sandboxUrl}/cgi-bin/mmpayweb-bin/checkmweb`);
    expect(url.searchParams.get('redirect_url')).toBe(returnUrl);
    expect(result.payload.value).toContain(`&redirect_url=${encodeURIComponent(returnUrl)}`);
    const page = await fetch(url, { headers: { Accept: 'text/html' } }).then((r) => r.text());
    expect(page).toContain('绿茶 Green tea');
    const done = await fetch(url, { method: 'POST', headers: { Accept: 'text/html' } }).then((r) => r.text());
    expect(done).toContain(`href="${returnUrl.replace(/&/g, '&#38;')}"`);

    const [receipt] = await notifiesFor(trade.attemptNo);
    expect(receipt.path).toBe('/notify/wx/t1/h5');
    expect(receipt.notify).toEqual(paymentOf(trade));
    expect(sandbox.trade(trade.attemptNo)).toMatchObject({ trade_type: 'MWEB' });

    const plain = await h5.prepay(tradeSnapshot(), call());
    expect(plain.outcome === 'success' && plain.payload.value).not.toContain('redirect_url');
    const noIp = await h5.prepay(tradeSnapshot({ clientIp: '' }), call());
    expect(noIp).toMatchObject({ outcome: 'fail', reason: expect.stringContaining('client IP') });
  });
});

const CLOSE = 'POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close';

describe('query, close and prepay idempotency', () => {
  it('queries a trade through its states and closes it with a signed 204', async () => {
    const trade = tradeSnapshot();
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'ORDER_NOT_EXIST' });
    await native.prepay(trade, call());
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'NOTPAY' });
    expect(await native.close(trade, call())).toEqual({ outcome: 'closed', said: { endpoint: CLOSE, httpStatus: 204 } });
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'fail', channelStatus: 'CLOSED' });
    expect(await native.close(trade, call())).toEqual({ outcome: 'closed', said: { endpoint: CLOSE, httpStatus: 204 } });
    expect(await native.close(tradeSnapshot(), call())).toEqual({
      outcome: 'closed',
      said: { endpoint: CLOSE, httpStatus: 404, code: 'ORDER_NOT_EXIST', message: '订单不存在' },
    });
    expect(() => sandbox.pay(trade.attemptNo)).toThrow('trade is closed');
    expect(await native.prepay(trade, call())).toMatchObject({ outcome: 'unknown', reason: expect.stringContaining('ORDER_CLOSED') });
  });

  it('answers a close of a paid trade with paid, confirmed by a query', async () => {
    const trade = await paid({ amount: 500n });
    const status = await jsapi.query(trade, call());
    expect(status).toMatchObject({ outcome: 'success', paidAmount: 500n });
    expect(await jsapi.close(trade, call())).toEqual({
      outcome: 'paid',
      status,
      said: { endpoint: CLOSE, httpStatus: 400, code: 'ORDERPAID', message: '订单已支付' },
    });
  });

  it('prepay is idempotent per out_trade_no; other parameters are INVALID_REQUEST (fail)', async () => {
    const trade = tradeSnapshot();
    const first = await jsapi.prepay(trade, call());
    const again = await jsapi.prepay(trade, call());
    if (first.outcome !== 'success' || first.payload.kind !== 'signParams') throw new Error(JSON.stringify(first));
    expect(again).toMatchObject({ outcome: 'success', payload: { value: { package: first.payload.value.package } } });
    const conflict = {
      outcome: 'fail',
      reason: expect.stringContaining('HTTP 400 INVALID_REQUEST'),
      said: expect.objectContaining({ endpoint: 'POST /v3/pay/transactions/jsapi', httpStatus: 400, code: 'INVALID_REQUEST' }),
    };
    expect(await jsapi.prepay({ ...trade, amount: 1235n }, call())).toEqual(conflict);
    expect(await app.prepay(trade, call())).toMatchObject({ outcome: 'fail' });
  });
});

describe('refunds', () => {
  it('refunds partially and fully, refuses over-refunds, queries refunds, and notifies them', async () => {
    const trade = await paid({ amount: 1000n });
    const partial = refundSnapshot(trade, 400n);
    const refunded = { outcome: 'success', channelStatus: 'SUCCESS', channelRefundNo: expect.stringMatching(/^50/) };
    expect(await native.refund(partial, call())).toMatchObject(refunded);
    expect(await native.refund(partial, call())).toMatchObject({ outcome: 'success' });
    expect(await native.queryRefund(partial, call())).toMatchObject({ outcome: 'success', channelStatus: 'SUCCESS' });
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'success', channelStatus: 'REFUND' });
    const notified = (await notifiesFor(trade.attemptNo, 2)).find((r) => r.notify.kind === 'refund');
    expect(notified?.path).toBe('/notify/wx/t1/native');
    expect(notified?.notify).toMatchObject({
      kind: 'refund',
      refundNo: partial.refundNo,
      amount: 400n,
      status: { outcome: 'success', channelStatus: 'SUCCESS' },
    });

    expect(await native.refund(refundSnapshot(trade, 601n), call())).toMatchObject({ outcome: 'fail', channelStatus: 'INVALID_REQUEST' });
    expect(await native.refund(refundSnapshot(trade, 600n), call())).toMatchObject({ outcome: 'success' });
    expect(sandbox.refundedTotal(trade.attemptNo)).toBe(1000n);
    const neverSent = await native.queryRefund(refundSnapshot(trade, 1n), call());
    expect(neverSent).toMatchObject({ outcome: 'pending', channelStatus: 'RESOURCE_NOT_EXISTS' });
    const unpaid = await native.refund(refundSnapshot(await prepaid(), 1n), call());
    expect(unpaid).toMatchObject({ outcome: 'fail', channelStatus: 'INVALID_REQUEST' });
  });

  it('reports held refunds as pending, ABNORMAL as pending needing manual handling, CLOSED as fail', async () => {
    const trade = await paid({ amount: 1000n });
    sandbox.holdRefunds(true);
    const held = refundSnapshot(trade, 1000n);
    expect(await native.refund(held, call())).toMatchObject({ outcome: 'pending', channelStatus: 'PROCESSING' });
    sandbox.settleRefund(held.refundNo, 'ABNORMAL');
    const abnormal = await native.queryRefund(held, call());
    expect(abnormal).toMatchObject({ outcome: 'pending', channelStatus: 'ABNORMAL', reason: expect.stringContaining('manual handling') });
    sandbox.settleRefund(held.refundNo, 'CLOSED');
    expect(await native.queryRefund(held, call())).toMatchObject({ outcome: 'fail', channelStatus: 'CLOSED' });
    const kinds = (await notifiesFor(trade.attemptNo, 3)).map((r) => r.notify.kind === 'refund' && r.notify.status.channelStatus);
    expect(kinds.filter(Boolean).sort()).toEqual(['ABNORMAL', 'CLOSED']);
    expect(sandbox.refundedTotal(trade.attemptNo)).toBe(0n);
  });
});

describe('anything but a signed, expected answer is unknown', () => {
  const unknown = (reason: string) => ({ outcome: 'unknown', reason: expect.stringContaining(reason) });

  it('treats bad and missing response signatures as unknown, also on error answers', async () => {
    const trade = await prepaid();
    sandbox.inject({ kind: 'badResponseSignature' });
    expect(await native.query(trade, call())).toMatchObject(unknown('signature does not verify'));
    sandbox.inject({ kind: 'missingResponseSignature' });
    expect(await native.prepay(tradeSnapshot(), call())).toMatchObject(unknown('not signed'));
    sandbox.inject({ kind: 'badResponseSignature' });
    expect(await native.close(trade, call())).toMatchObject(unknown('signature does not verify'));
    // The untrusted close did take effect: only its answer could not be trusted.
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'fail', channelStatus: 'CLOSED' });
    sandbox.inject({ kind: 'missingResponseSignature' });
    expect(await native.query(tradeSnapshot(), call())).toMatchObject(unknown('not signed'));
    sandbox.inject({ kind: 'badResponseSignature' });
    expect(await native.refund(refundSnapshot(trade, 1n), call())).toMatchObject(unknown('signature does not verify'));
    const otherKeyId = { ...account, platformPublicKeyId: 'PUB_KEY_ID_0100000000000000000000000001' };
    expect(await native.query(trade, { account: otherKeyId })).toMatchObject(unknown('unknown Wechatpay-Serial'));
  });

  it('treats 5xx, 429, a hang, an abort and a refused connection as unknown', async () => {
    const trade = await prepaid();
    sandbox.inject({ kind: 'serverError' });
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'unknown', channelStatus: 'SYSTEM_ERROR' });
    sandbox.inject({ kind: 'serverError' });
    expect(await native.prepay(tradeSnapshot(), call())).toMatchObject(unknown('HTTP 500 SYSTEM_ERROR'));
    sandbox.inject({ kind: 'rateLimited' });
    expect(await native.refund(refundSnapshot(trade, 1n), call())).toMatchObject(unknown('HTTP 429 FREQUENCY_LIMITED'));
    sandbox.inject({ kind: 'hang', ms: 60_000 }); // the sandbox's close clears it
    const impatient = wechatHandlers({ timeoutMs: 500 })[2];
    expect(await impatient.prepay(tradeSnapshot(), call())).toMatchObject(unknown('no answer within 500 ms'));
    expect(await native.query(trade, { account, signal: AbortSignal.abort() })).toMatchObject(unknown('aborted by the caller'));
    expect(await native.query(trade, { account: { ...account, baseUrl: 'http://127.0.0.1:1/' } })).toMatchObject(unknown('network error'));
    expect(await native.query(trade, { account: { channel: 'alipay' } })).toMatchObject(unknown('no wechat account'));
  });

  it('the sandbox refuses unsigned and wrongly signed calls with a signed 401 SIGN_ERROR (unknown, not fail)', async () => {
    const res = await fetch(`${sandboxUrl}/v3/pay/transactions/out-trade-no/A000001?mchid=${MCH_A}`);
    const body = await res.text();
    expect(res.status).toBe(401);
    expect(JSON.parse(body)).toMatchObject({ code: 'SIGN_ERROR' });
    const [ts, nonce, sig] = ['wechatpay-timestamp', 'wechatpay-nonce', 'wechatpay-signature'].map((h) => res.headers.get(h) ?? '');
    expect(res.headers.get('wechatpay-serial')).toBe(keys.platformPublicKeyId);
    expect(verify(responseMessage(ts, nonce, body), sig, keys.platformPublicKey)).toBe(true);

    const wrongKey = { ...account, merchantPrivateKey: keys.platformPrivateKey };
    expect(await native.prepay(tradeSnapshot(), { account: wrongKey })).toMatchObject(unknown('HTTP 401 SIGN_ERROR'));
  });
});

describe('notifies', () => {
  const since = (mark: number) => receipts.slice(mark);

  it('acks with 204 and no body, refuses with 500 {"code":"FAIL"}', () => {
    expect(native.ackNotify(true)).toEqual({ status: 204, contentType: 'application/json', body: '' });
    const body = '{"code":"FAIL","message":"bad signature"}';
    expect(native.ackNotify(false, 'bad signature')).toEqual({ status: 500, contentType: 'application/json', body });
  });

  it('retries an unacknowledged notify with the same event id and a fresh signature', async () => {
    refuseValid = 1;
    const trade = await paid();
    const [first, second] = await notifiesFor(trade.attemptNo, 2);
    expect(second.notify.notifyId).toBe(first.notify.notifyId);
    expect(second.headers['wechatpay-nonce']).not.toBe(first.headers['wechatpay-nonce']);
    expect(second.headers['wechatpay-signature']).not.toBe(first.headers['wechatpay-signature']);
  });

  it.each([
    ['signTestNotify', 'bad signature (WECHATPAY/SIGNTEST probe)'],
    ['staleNotifyTimestamp', 'not within 300 s'],
    ['unknownNotifySerial', 'unknown Wechatpay-Serial PUB_KEY_ID_0199999999999999999999999999'],
  ] as const)('rejects a %s attempt as invalid; the retry is accepted', async (kind, reason) => {
    const mark = receipts.length;
    sandbox.inject({ kind });
    const trade = await paid();
    const [valid] = await notifiesFor(trade.attemptNo);
    const invalid = since(mark).filter((r) => !r.verification.valid);
    expect(invalid.map((r) => r.verification)).toEqual([
      { valid: false, reason: expect.stringContaining(reason), attemptNo: trade.attemptNo },
    ]);
    expect(valid.notify).toEqual(paymentOf(trade));
  });

  it('delivers an amount mismatch, duplicates and out-of-order notifies as sent, for the core to judge', async () => {
    sandbox.inject({ kind: 'notifyAmountMismatch', delta: 1n });
    const shifted = await paid({ amount: 1234n });
    expect((await notifiesFor(shifted.attemptNo))[0].notify).toMatchObject({ status: { paidAmount: 1235n } });

    sandbox.inject({ kind: 'duplicateNotify' });
    const dup = await paid();
    const [a, b] = await notifiesFor(dup.attemptNo, 2);
    expect(a.notify.notifyId).toBe(b.notify.notifyId);

    sandbox.inject({ kind: 'outOfOrderNotify', holdMs: 200 });
    const late = await paid({ amount: 300n });
    expect(await native.refund(refundSnapshot(late, 300n), call())).toMatchObject({ outcome: 'success' });
    const order = (await notifiesFor(late.attemptNo, 2)).map((r) => r.notify.kind);
    expect(order).toEqual(['refund', 'payment']);
  });

  it('reports a success after close (the buyer paid while the merchant closed)', async () => {
    const trade = await prepaid();
    expect(await native.close(trade, call())).toEqual({ outcome: 'closed', said: { endpoint: CLOSE, httpStatus: 204 } });
    sandbox.inject({ kind: 'successAfterClose' });
    sandbox.pay(trade.attemptNo);
    expect((await notifiesFor(trade.attemptNo))[0].notify).toEqual(paymentOf(trade));
    expect(await native.query(trade, call())).toMatchObject({ outcome: 'success' });
    expect(await native.close(trade, call())).toMatchObject({ outcome: 'paid' });
  });

  it("rejects a validly signed notify about another merchant's trade (base identity check)", async () => {
    const mark = receipts.length;
    const trade = tradeSnapshot(); // tenant t1, whose account is merchant A
    expect(await native.prepay(trade, { account: accountB })).toMatchObject({ outcome: 'success' });
    sandbox.pay(trade.attemptNo);
    for (const deadline = Date.now() + 10_000; since(mark).length === 0 && Date.now() < deadline;) await sleep(10);
    expect(since(mark)[0].verification).toEqual({
      valid: false,
      reason: `notify for another merchant: merchant ${MCH_B} is not ${MCH_A}`,
      attemptNo: trade.attemptNo,
    });
    // And with no account for the tenant at all:
    const raw = { tenantId: 't9', terminalType: 'native', headers: {}, rawBody: Buffer.alloc(0) };
    const verification = await wechatHandlers({ timeoutMs: 100 })[2].verifyNotify(raw);
    expect(verification).toEqual({ valid: false, reason: 'tenant t9 has no wechat account' });
  });
});
