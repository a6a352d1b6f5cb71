import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type AlipayAccount, alipayHandlers } from '../../src/channels/alipay';
import type { PayWayHandler } from '../../src/channels/guarded-channel';
import { verifyNotifyForm } from '../../src/channels/alipay/notify';
import { createAlipaySandbox, type AlipaySandbox } from '../../sandboxes/alipay';
import { alipaySignContent, rsa2Verify } from '../../src/channels/alipay/signing';
import type { NotifyVerification, RawNotify, RefundSnapshot, TradeSnapshot, VerifiedNotify } from '../../src/channels/types';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/alipay', `${name}.pem`), 'utf8');
const APP_ID = '2021000000000001';
const SELLER_ID = '2088000000000001';

interface Receipt {
  tenantId: string;
  terminalType: string;
  raw: RawNotify;
  form: URLSearchParams;
  verification: NotifyVerification;
}

let sandbox: AlipaySandbox;
let baseUrl: string;
let receiver: Server;
let account: AlipayAccount;
let app: PayWayHandler, wap: PayWayHandler, page: PayWayHandler, qr: PayWayHandler;
const receipts: Receipt[] = [];
/** The receiver answers `fail` to this many more valid notifies per out_trade_no. */
const refuse = new Map<string, number>();

beforeAll(async () => {
  sandbox = createAlipaySandbox({
    alipayKeys: { privateKey: fixture('alipay_private_key'), publicKey: fixture('alipay_public_key') },
    apps: [{ appId: APP_ID, appPublicKey: fixture('app_public_key'), sellerId: SELLER_ID }],
    timeScale: 1e-5, // 4m → 2.4 ms … 15h → 540 ms
  });
  baseUrl = await sandbox.listen(0);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    // A notify this receiver cannot handle is answered 500 (the gateway delivers it again), not left hanging.
    const broken = (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    req.on('end', () => {
      void (async () => {
        const [, , , tenantId, terminalType] = (req.url ?? '').split('/');
        const raw: RawNotify = { tenantId, terminalType, headers: req.headers as Record<string, string>, rawBody: Buffer.concat(chunks) };
        const verification = await qr.verifyNotify(raw, tenantId === 't1' ? account : undefined);
        const form = new URLSearchParams(raw.rawBody.toString());
        receipts.push({ tenantId, terminalType, raw, form, verification });
        const outTradeNo = form.get('out_trade_no') ?? '';
        const refusals = refuse.get(outTradeNo) ?? 0;
        if (verification.valid && refusals > 0) refuse.set(outTradeNo, refusals - 1);
        const ack = qr.ackNotify(verification.valid && refusals === 0);
        res.writeHead(ack.status, { 'Content-Type': ack.contentType }).end(ack.body);
      })().catch(broken);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  account = {
    channel: 'alipay',
    appId: APP_ID,
    sellerId: SELLER_ID,
    appPrivateKey: fixture('app_private_key'),
    alipayPublicKey: sandbox.alipayPublicKey,
    gatewayUrl: `${baseUrl}/gateway.do`,
    notifyBaseUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  };
  [app, wap, page, qr] = alipayHandlers({ timeoutMs: 10_000 }); // generous: a loaded machine signs slowly
});

afterEach(() => {
  sandbox.clearFaults();
  refuse.clear();
});

afterAll(async () => {
  await sandbox.close();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

const call = () => ({ account });
let seq = 0;
function tradeSnapshot(amount = 8888n): TradeSnapshot {
  seq += 1;
  return {
    tenantId: 't1',
    payNo: `P${seq}`,
    attemptNo: `A${Date.now()}_${seq}`,
    amount,
    currency: 'CNY',
    subject: '测试商品 Green tea',
    description: '',
    attach: 'cart=1&x=测',
    expireAt: new Date(Date.now() + 15 * 60_000),
    clientIp: '',
    payerId: '',
    returnUrl: 'https://shop.example/return?o=1',
  };
}
function refundSnapshot(trade: TradeSnapshot, amount: bigint, refundNo = `R${Date.now()}_${++seq}`): RefundSnapshot {
  const { tenantId, payNo, attemptNo, currency } = trade;
  return { tenantId, payNo, attemptNo, refundNo, tradeAmount: trade.amount, amount, currency, reason: 'test' };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(probe: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(5)) {
    const found = probe();
    if (found !== undefined) return found;
  }
  throw new Error(`timed out waiting for ${what}`);
}
/** Waits until the sandbox has no delivery left to make, so what was not sent will not be sent. */
const deliveriesSettled = () => until(() => (sandbox.notifiesPending() === 0 ? true : undefined), 'no deliveries pending');
const receiptsFor = (attemptNo: string) => receipts.filter((r) => r.form.get('out_trade_no') === attemptNo);
async function validNotifies(attemptNo: string, count = 1): Promise<VerifiedNotify[]> {
  return until(() => {
    const found = receiptsFor(attemptNo).flatMap((r) => (r.verification.valid ? [r.verification.notify] : []));
    return found.length >= count ? found : undefined;
  }, `${count} valid notifies for ${attemptNo}`);
}
async function prepaidQr(amount?: bigint): Promise<TradeSnapshot> {
  const trade = tradeSnapshot(amount);
  const r = await qr.prepay(trade, call());
  expect(r).toMatchObject({ outcome: 'success', payload: { kind: 'qrCodeUrl' } });
  return trade;
}
async function paidQr(amount?: bigint): Promise<TradeSnapshot> {
  const trade = await prepaidQr(amount);
  sandbox.pay(trade.attemptNo);
  await validNotifies(trade.attemptNo);
  return trade;
}

describe('every pay way: prepay → buyer pays → verified notify → query success', () => {
  it('ALIPAY_QR: precreate, not scanned = pending, scan, pay, notify, query', async () => {
    const trade = tradeSnapshot();
    const prepay = await qr.prepay(trade, call());
    expect(prepay).toEqual({
      outcome: 'success',
      payload: { kind: 'qrCodeUrl', value: `${baseUrl}/qr/${trade.attemptNo}` },
      said: { endpoint: 'alipay.trade.precreate', code: '10000' },
    });
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'ACQ.TRADE_NOT_EXIST' });

    const scanned = await fetch(`${baseUrl}/qr/${trade.attemptNo}`);
    expect(await scanned.text()).toContain('<button type="submit">Pay</button>');
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'WAIT_BUYER_PAY' });

    sandbox.pay(trade.attemptNo);
    const [notify] = await validNotifies(trade.attemptNo);
    const tradeNo = sandbox.trade(trade.attemptNo)?.tradeNo;
    expect(notify).toMatchObject({
      kind: 'payment',
      attemptNo: trade.attemptNo,
      status: { outcome: 'success', channelStatus: 'TRADE_SUCCESS', paidAmount: 8888n, currency: 'CNY', channelTradeNo: tradeNo },
    });
    expect(receiptsFor(trade.attemptNo)[0]).toMatchObject({ tenantId: 't1', terminalType: 'qr' });
    expect(receiptsFor(trade.attemptNo)[0].form.get('passback_params')).toBe(encodeURIComponent(trade.attach));
    const status = await qr.query(trade, call());
    expect(status).toMatchObject({ outcome: 'success', paidAmount: 8888n, currency: 'CNY', channelTradeNo: tradeNo });
    expect(status.paidAt).toBeInstanceOf(Date);
    expect(sandbox.deliveries().filter((d) => d.outTradeNo === trade.attemptNo)).toEqual([
      expect.objectContaining({ attempt: 0, status: 200, acked: true }),
    ]);
  });

  it.each([
    ['ALIPAY_WAP', () => wap, 'alipay.trade.wap.pay', 'QUICK_WAP_WAY', 'wap'],
    ['ALIPAY_PAGE', () => page, 'alipay.trade.page.pay', 'FAST_INSTANT_TRADE_PAY', 'page'],
  ])('%s: redirect URL → cashier page → Pay → signed return → notify', async (payWay, handler, method, productCode, terminal) => {
    const h = handler();
    expect(h.payWay).toBe(payWay);
    const trade = tradeSnapshot();
    const prepay = await h.prepay(trade, call());
    if (prepay.outcome !== 'success' || prepay.payload.kind !== 'redirectUrl') throw new Error(JSON.stringify(prepay));
    expect(sandbox.trade(trade.attemptNo)).toBeUndefined(); // no HTTP call at prepay

    const url = new URL(prepay.payload.value);
    expect(`${url.origin}${url.pathname}`).toBe(account.gatewayUrl);
    const params = Object.fromEntries(url.searchParams);
    expect(params).toMatchObject({ method, app_id: APP_ID, sign_type: 'RSA2', return_url: trade.returnUrl });
    expect(params.notify_url).toBe(`${account.notifyBaseUrl}/notify/alipay/t1/${terminal}`);
    expect(params.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const biz = JSON.parse(params.biz_content);
    expect(biz).toMatchObject({ out_trade_no: trade.attemptNo, total_amount: '88.88', product_code: productCode });
    expect(biz.quit_url).toBe(terminal === 'wap' ? trade.returnUrl : undefined);
    expect(await h.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'ACQ.TRADE_NOT_EXIST' });

    const cashier = await fetch(url);
    expect(cashier.status).toBe(200);
    expect(await cashier.text()).toContain('¥88.88');
    expect(await h.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'WAIT_BUYER_PAY' });

    const paid = await fetch(`${baseUrl}/cashier/${trade.attemptNo}/pay`, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(302);
    const back = new URL(paid.headers.get('location') ?? '');
    expect(`${back.origin}${back.pathname}`).toBe('https://shop.example/return');
    const returned = Object.fromEntries(back.searchParams);
    expect(returned).toMatchObject({ o: '1', out_trade_no: trade.attemptNo, method: `${method}.return`, seller_id: SELLER_ID });
    const { o: _ours, ...syncParams } = returned;
    expect(verifyNotifyForm(syncParams, account.alipayPublicKey)).toBeUndefined();

    const [notify] = await validNotifies(trade.attemptNo);
    expect(notify).toMatchObject({ kind: 'payment', status: { outcome: 'success', paidAmount: 8888n } });
    expect(await h.query(trade, call())).toMatchObject({ outcome: 'success', paidAmount: 8888n });
  });

  it('a tampered redirect URL is refused by the cashier (request signature)', async () => {
    const trade = tradeSnapshot();
    const prepay = await page.prepay(trade, call());
    if (prepay.outcome !== 'success') throw new Error(prepay.reason);
    const url = new URL(prepay.payload.value);
    url.searchParams.set('biz_content', url.searchParams.get('biz_content')!.replace('"88.88"', '"0.01"'));
    const res = await fetch(url);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('isv.invalid-signature');
    expect(sandbox.trade(trade.attemptNo)).toBeUndefined();
  });

  it('ALIPAY_APP: a signed order string (golden shape) → the app pays → notify', async () => {
    const trade = tradeSnapshot();
    const prepay = await app.prepay(trade, call());
    if (prepay.outcome !== 'success' || prepay.payload.kind !== 'appOrderString') throw new Error(JSON.stringify(prepay));
    const orderString = prepay.payload.value;
    expect(orderString).not.toContain(' '); // URL-encoded k=v&…
    const params = Object.fromEntries(new URLSearchParams(orderString));
    expect(Object.keys(params).sort()).toEqual(
      ['app_id', 'biz_content', 'charset', 'method', 'notify_url', 'sign', 'sign_type', 'timestamp', 'version'].sort(),
    );
    expect(params).toMatchObject({ app_id: APP_ID, method: 'alipay.trade.app.pay', charset: 'utf-8', version: '1.0', sign_type: 'RSA2' });
    expect(JSON.parse(params.biz_content)).toEqual({
      out_trade_no: trade.attemptNo,
      total_amount: '88.88',
      subject: trade.subject,
      product_code: 'QUICK_MSECURITY_PAY',
      time_expire: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      passback_params: encodeURIComponent(trade.attach),
    });
    const appPublicKey = fixture('app_public_key');
    expect(rsa2Verify(alipaySignContent(params), params.sign, appPublicKey)).toBe(true);
    const tampered = { ...params, biz_content: params.biz_content.replace('"88.88"', '"0.01"') };
    expect(rsa2Verify(alipaySignContent(tampered), params.sign, appPublicKey)).toBe(false);
    expect(() => sandbox.payOrderString(new URLSearchParams(tampered).toString())).toThrow(/isv.invalid-signature/);

    expect(await app.query(trade, call())).toMatchObject({ outcome: 'pending', channelStatus: 'ACQ.TRADE_NOT_EXIST' });
    expect(sandbox.payOrderString(orderString)).toBe(trade.attemptNo);
    const [notify] = await validNotifies(trade.attemptNo);
    expect(notify).toMatchObject({ kind: 'payment', status: { outcome: 'success', paidAmount: 8888n } });
    expect(receiptsFor(trade.attemptNo)[0].terminalType).toBe('app');
    expect(await app.query(trade, call())).toMatchObject({ outcome: 'success', paidAmount: 8888n });
  });

  it('refuses what Alipay would refuse without sending anything, and a missing account is unknown', async () => {
    const usd = { ...tradeSnapshot(), currency: 'USD' };
    expect(await qr.prepay(usd, call())).toMatchObject({ outcome: 'fail', reason: expect.stringMatching(/CNY/) });
    const free = tradeSnapshot(0n);
    expect(await app.prepay(free, call())).toMatchObject({ outcome: 'fail', reason: expect.stringMatching(/outside/) });
    expect(sandbox.trade(usd.attemptNo)).toBeUndefined();
    expect(await qr.query(tradeSnapshot(), { account: { channel: 'wechat' } })).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringMatching(/no alipay account/),
    });
  });
});

describe('close', () => {
  it('closes an unpaid trade: closed, then query fail, with a TRADE_CLOSED notify', async () => {
    const trade = await prepaidQr();
    sandbox.scan(trade.attemptNo);
    expect(await qr.close(trade, call())).toEqual({ outcome: 'closed', said: { endpoint: 'alipay.trade.close', code: '10000' } });
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'fail', channelStatus: 'TRADE_CLOSED' });
    const [notify] = await validNotifies(trade.attemptNo);
    expect(notify).toMatchObject({ kind: 'payment', status: { outcome: 'fail', channelStatus: 'TRADE_CLOSED' } });
    expect(await qr.close(trade, call())).toEqual({
      outcome: 'closed',
      said: expect.objectContaining({ endpoint: 'alipay.trade.close', code: '40004', subCode: 'ACQ.TRADE_HAS_CLOSE' }),
    }); // ACQ.TRADE_HAS_CLOSE
    expect(() => sandbox.pay(trade.attemptNo)).toThrow(/ACQ.TRADE_HAS_CLOSE/);
  });

  it('an unscanned precreate closes as ACQ.TRADE_NOT_EXIST, and cannot be paid afterwards', async () => {
    const trade = await prepaidQr();
    expect(await qr.close(trade, call())).toEqual({
      outcome: 'closed',
      said: expect.objectContaining({ endpoint: 'alipay.trade.close', code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST' }),
    });
    expect(() => sandbox.scan(trade.attemptNo)).toThrow(/ACQ.TRADE_HAS_CLOSE/);
  });

  it('a paid trade is reported paid, as confirmed by a query', async () => {
    const trade = await paidQr();
    expect(await qr.close(trade, call())).toMatchObject({ outcome: 'paid', status: { outcome: 'success', paidAmount: 8888n } });
  });
});

describe('refund', () => {
  it('partial, idempotent repeat, over the rest, then the rest: with notifies and refund queries', async () => {
    const trade = await paidQr();
    const first = refundSnapshot(trade, 1000n);
    expect(await qr.queryRefund(first, call())).toEqual({
      outcome: 'pending',
      channelStatus: 'REFUND_NOT_FOUND',
      said: { endpoint: 'alipay.trade.fastpay.refund.query', code: '10000' },
    });
    expect(await qr.refund(first, call())).toEqual({
      outcome: 'success',
      channelStatus: 'fund_change=Y',
      said: { endpoint: 'alipay.trade.refund', code: '10000' },
    });
    expect(sandbox.refundedTotal(trade.attemptNo)).toBe(1000n);
    expect(await qr.queryRefund(first, call())).toEqual({
      outcome: 'success',
      channelStatus: 'REFUND_SUCCESS',
      said: { endpoint: 'alipay.trade.fastpay.refund.query', code: '10000' },
    });
    // Settled by the refund query (fund_change N says nothing itself): that answer is the one on record.
    expect(await qr.refund(first, call())).toEqual({
      outcome: 'success',
      channelStatus: 'fund_change=N; REFUND_SUCCESS',
      said: { endpoint: 'alipay.trade.fastpay.refund.query', code: '10000' },
    });
    expect(sandbox.refundedTotal(trade.attemptNo)).toBe(1000n);

    const [, refundNotify] = await validNotifies(trade.attemptNo, 2);
    expect(refundNotify).toEqual({
      kind: 'refund',
      notifyId: expect.any(String),
      attemptNo: trade.attemptNo,
      refundNo: first.refundNo,
      // refund_fee is the trade's cumulative total: the notify proves no amount, so the core asks instead.
      status: { outcome: 'unknown', channelStatus: 'REFUND_NOTIFY', reason: expect.any(String) },
    });
    expect(receiptsFor(trade.attemptNo)[1].form.get('refund_fee')).toBe('10.00');

    const tooMuch = refundSnapshot(trade, 7889n);
    expect(await qr.refund(tooMuch, call())).toMatchObject({ outcome: 'fail', channelStatus: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
    const sameNoOtherAmount = refundSnapshot(trade, 999n, first.refundNo);
    expect(await qr.refund(sameNoOtherAmount, call())).toMatchObject({ outcome: 'fail' });

    const rest = refundSnapshot(trade, 7888n);
    expect(await qr.refund(rest, call())).toEqual({
      outcome: 'success',
      channelStatus: 'fund_change=Y',
      said: { endpoint: 'alipay.trade.refund', code: '10000' },
    });
    const notifies = await validNotifies(trade.attemptNo, 3);
    expect(notifies[2]).toMatchObject({ kind: 'refund', refundNo: rest.refundNo, status: { outcome: 'unknown' } });
    expect(receiptsFor(trade.attemptNo)[2].form.get('trade_status')).toBe('TRADE_CLOSED');
    expect(receiptsFor(trade.attemptNo)[2].form.get('refund_fee')).toBe('88.88');
    // Fully refunded → TRADE_CLOSED, but the payment itself was not a failure.
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'unknown', channelStatus: 'TRADE_CLOSED' });
  });

  it('a refund of an unpaid trade is refused: fail', async () => {
    const trade = await prepaidQr();
    sandbox.scan(trade.attemptNo);
    expect(await qr.refund(refundSnapshot(trade, 100n), call())).toMatchObject({
      outcome: 'fail',
      channelStatus: 'ACQ.TRADE_STATUS_ERROR',
    });
  });
});

describe('no trustworthy answer → unknown', () => {
  it.each([
    ['a bad response signature', { kind: 'badResponseSignature' as const }, /response signature invalid/],
    ['HTTP 502', { kind: 'serverError' as const }, /HTTP 502/],
    ['HTTP 503', { kind: 'serverError' as const, status: 503 }, /HTTP 503/],
    ['20000 isp.unknow-error', { kind: 'unknownError' as const }, /20000.*isp.unknow-error/],
    ['40004 ACQ.SYSTEM_ERROR', { kind: 'systemError' as const }, /ACQ.SYSTEM_ERROR/],
  ])('query with %s', async (_what, fault, reason) => {
    const trade = await paidQr();
    sandbox.inject(fault);
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(reason) });
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'success' });
  });

  it.each([
    ['precreate', { kind: 'unknownError' as const }],
    ['precreate', { kind: 'badResponseSignature' as const }],
    ['refund', { kind: 'systemError' as const }],
    ['refund', { kind: 'serverError' as const }],
    ['close', { kind: 'unknownError' as const }],
  ])('%s with %j', async (operation, fault) => {
    const trade = operation === 'precreate' ? tradeSnapshot() : operation === 'refund' ? await paidQr() : await prepaidQr();
    if (operation === 'close') sandbox.scan(trade.attemptNo);
    sandbox.inject(fault);
    const result =
      operation === 'precreate'
        ? await qr.prepay(trade, call())
        : operation === 'refund'
          ? await qr.refund(refundSnapshot(trade, 100n), call())
          : await qr.close(trade, call());
    expect(result.outcome).toBe('unknown');
  });

  it('times out on a hung gateway (SDK timeout), and honours the caller’s signal sooner', async () => {
    const trade = await paidQr();
    const quick = alipayHandlers({ timeoutMs: 200 })[3];
    // Hangs far longer than any timeout here (the sandbox's close clears them): only a timeout can end a call,
    // and the reason names which one did.
    sandbox.inject({ kind: 'hang', ms: 60_000 });
    expect(await quick.query(trade, call())).toMatchObject({ outcome: 'unknown', reason: 'no answer in time (no answer within 200 ms)' });

    sandbox.inject({ kind: 'hang', ms: 60_000 });
    const r = await qr.query(trade, { account, signal: AbortSignal.timeout(100) });
    expect(r).toMatchObject({ outcome: 'unknown', reason: "no answer in time (the caller's deadline passed)" });
  });

  it('an answer about another trade is not an answer', async () => {
    const a = await paidQr();
    const b = { ...tradeSnapshot(), attemptNo: a.attemptNo, amount: 1n };
    expect(await qr.query(b, call())).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(/paid amount 8888 is not 1/) });
  });
});

describe('hostile notifies', () => {
  it('a badly signed delivery is rejected and retried with the same notify_id, fresh notify_time and signature', async () => {
    const trade = await prepaidQr();
    sandbox.inject({ kind: 'badNotifySignature' });
    sandbox.pay(trade.attemptNo);
    await validNotifies(trade.attemptNo);
    const [bad, good] = receiptsFor(trade.attemptNo);
    expect(bad.verification).toEqual({ valid: false, reason: 'bad notify signature', attemptNo: trade.attemptNo });
    expect(good.form.get('notify_id')).toBe(bad.form.get('notify_id'));
    expect(good.form.get('sign')).not.toBe(bad.form.get('sign'));
    const log = await until(() => {
      const entries = sandbox.deliveries().filter((d) => d.outTradeNo === trade.attemptNo);
      return entries.length >= 2 ? entries : undefined;
    }, 'two deliveries');
    expect(log.map((d) => [d.attempt, d.status, d.acked])).toEqual([
      [0, 500, false],
      [1, 200, true],
    ]);
  });

  it('is delivered 8 times on the scaled 4m,10m,10m,1h,2h,6h,15h schedule until `success`, then stops', async () => {
    const trade = await prepaidQr();
    refuse.set(trade.attemptNo, 100);
    sandbox.pay(trade.attemptNo);
    await until(
      () => (sandbox.deliveries().filter((d) => d.outTradeNo === trade.attemptNo).length >= 8 ? true : undefined),
      '8 deliveries',
    );
    await deliveriesSettled();
    const log = sandbox.deliveries().filter((d) => d.outTradeNo === trade.attemptNo);
    expect(log.map((d) => d.attempt)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(log.map((d) => d.notifyId)).size).toBe(1);
    expect(log.every((d) => d.status === 500 && !d.acked)).toBe(true);
    const times = receiptsFor(trade.attemptNo).map((r) => r.form.get('notify_time'));
    expect(times).toHaveLength(8);
  });

  it('stops as soon as the receiver acks', async () => {
    const trade = await prepaidQr();
    refuse.set(trade.attemptNo, 2);
    sandbox.pay(trade.attemptNo);
    await validNotifies(trade.attemptNo, 3); // the receiver has answered; the sandbox logs it once it reads the answer
    await deliveriesSettled();
    expect(
      sandbox
        .deliveries()
        .filter((d) => d.outTradeNo === trade.attemptNo)
        .map((d) => d.acked),
    ).toEqual([false, false, true]);
  });

  it('reports a misreported amount as signed (the core’s cross-check rejects it)', async () => {
    const trade = await prepaidQr();
    sandbox.inject({ kind: 'notifyAmountMismatch', delta: 1n });
    sandbox.pay(trade.attemptNo);
    const [notify] = await validNotifies(trade.attemptNo);
    expect(notify).toMatchObject({ kind: 'payment', status: { outcome: 'success', paidAmount: 8889n } });
  });

  it('delivers a duplicate with the same notify_id', async () => {
    const trade = await prepaidQr();
    sandbox.inject({ kind: 'duplicateNotify' });
    sandbox.pay(trade.attemptNo);
    const [a, b] = await validNotifies(trade.attemptNo, 2);
    expect(a.notifyId).toBe(b.notifyId);
  });

  it('can deliver the refund notify before the payment notify', async () => {
    const trade = await prepaidQr();
    sandbox.inject({ kind: 'outOfOrderNotify' });
    sandbox.pay(trade.attemptNo);
    await deliveriesSettled();
    expect(receiptsFor(trade.attemptNo)).toHaveLength(0); // held, not merely late
    const refund = refundSnapshot(trade, 100n);
    expect(await qr.refund(refund, call())).toMatchObject({ outcome: 'success' });
    const notifies = await validNotifies(trade.attemptNo, 2);
    expect(notifies.map((n) => n.kind)).toEqual(['refund', 'payment']);
  });

  it('can pay a closed trade anyway (success after close)', async () => {
    const trade = await prepaidQr();
    sandbox.scan(trade.attemptNo);
    expect(await qr.close(trade, call())).toEqual({ outcome: 'closed', said: { endpoint: 'alipay.trade.close', code: '10000' } });
    sandbox.inject({ kind: 'successAfterClose' });
    sandbox.pay(trade.attemptNo);
    const notifies = await validNotifies(trade.attemptNo, 2);
    expect(notifies.map((n) => n.kind === 'payment' && n.status.outcome)).toEqual(['fail', 'success']);
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'success' });
  });

  it('refuses a valid notify for another seller, another app, another Alipay key, or no account', async () => {
    const trade = await paidQr();
    const raw = receiptsFor(trade.attemptNo)[0].raw;
    expect(await qr.verifyNotify(raw, account)).toMatchObject({ valid: true });
    expect(await qr.verifyNotify(raw, { ...account, sellerId: '2088000000000999' })).toEqual({
      valid: false,
      reason: expect.stringMatching(/another merchant: merchant 2088000000000001 is not 2088000000000999/),
      attemptNo: trade.attemptNo,
    });
    expect(await qr.verifyNotify(raw, { ...account, appId: '2021000000000999' })).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/app id/),
    });
    expect(await qr.verifyNotify(raw, { ...account, alipayPublicKey: fixture('app_public_key') })).toEqual({
      valid: false,
      reason: 'bad notify signature',
      attemptNo: trade.attemptNo,
    });
    expect(await qr.verifyNotify(raw, undefined)).toMatchObject({ valid: false, reason: expect.stringMatching(/no alipay account/) });
    const tampered = { ...raw, rawBody: Buffer.from(raw.rawBody.toString().replace('total_amount=88.88', 'total_amount=0.01')) };
    expect(await qr.verifyNotify(tampered, account)).toEqual({ valid: false, reason: 'bad notify signature', attemptNo: trade.attemptNo });
  });

  it('answers Alipay in its dialect', () => {
    for (const h of [app, wap, page, qr]) {
      expect(h.ackNotify(true)).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
      expect(h.ackNotify(false, 'nope')).toEqual({ status: 500, contentType: 'text/plain', body: 'fail' });
    }
  });
});

describe('alipayHandlers', () => {
  it('gives one handler per pay way, all on the alipay channel, QR only for precreate', () => {
    expect([app, wap, page, qr].map((h) => [h.payWay, h.channel, h.supportsQr, h.supportsRefund])).toEqual([
      ['ALIPAY_APP', 'alipay', false, true],
      ['ALIPAY_WAP', 'alipay', false, true],
      ['ALIPAY_PAGE', 'alipay', false, true],
      ['ALIPAY_QR', 'alipay', true, true],
    ]);
  });
});

describe('missing is not matching: validly signed answers that leave out a checked field', () => {
  it.each(['out_trade_no', 'total_amount'])('a query answer without %s is unknown', async (field) => {
    const trade = await paidQr();
    sandbox.inject({ kind: 'omitAnswerField', field });
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'unknown' });
    expect(await qr.query(trade, call())).toMatchObject({ outcome: 'success', paidAmount: 8888n });
  });

  it('a close answer without out_trade_no is unknown', async () => {
    const trade = await prepaidQr();
    sandbox.scan(trade.attemptNo);
    sandbox.inject({ kind: 'omitAnswerField', field: 'out_trade_no' });
    expect(await qr.close(trade, call())).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(/missing/) });
  });

  it('a refund answer without out_trade_no is unknown', async () => {
    const trade = await paidQr();
    sandbox.inject({ kind: 'omitAnswerField', field: 'out_trade_no' });
    expect(await qr.refund(refundSnapshot(trade, 100n), call())).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringMatching(/missing/),
    });
  });

  it.each(['out_trade_no', 'out_request_no', 'refund_amount'])('a refund query answer without %s is unknown', async (field) => {
    const trade = await paidQr();
    const refund = refundSnapshot(trade, 100n);
    expect(await qr.refund(refund, call())).toMatchObject({ outcome: 'success' });
    sandbox.inject({ kind: 'omitAnswerField', field });
    expect(await qr.queryRefund(refund, call())).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(/missing/) });
    expect(await qr.queryRefund(refund, call())).toMatchObject({ outcome: 'success' });
  });
});
