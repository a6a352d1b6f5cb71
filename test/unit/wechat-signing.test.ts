import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createVerify } from 'node:crypto';
import { Decorator, Formatter } from 'wechatpay-axios-plugin';
import type { TradeSnapshot } from '../../src/channels/types';
import type { WechatAccount } from '../../src/channels/wechat';
import { verifyWechatNotify } from '../../src/channels/wechat/notify';
import { MerchantRegistry, verifyAuthorization } from '../../sandboxes/wechat/protocol';
import {
  appPayParams,
  authorizationHeader,
  decryptResource,
  encryptResource,
  jsapiPayParams,
  parseAuthorization,
  requestMessage,
  responseMessage,
  sign,
  verify,
} from '../../src/channels/wechat/signing';
import { buildPrepayRequest } from '../../src/channels/wechat/transformers';

const dir = path.join(__dirname, '../fixtures/wechat');
const pem = (name: string) => readFileSync(path.join(dir, name), 'utf8');
const fixture = JSON.parse(readFileSync(path.join(dir, 'account.json'), 'utf8')) as {
  mchId: string;
  appId: string;
  merchantSerial: string;
  platformPublicKeyId: string;
  apiV3Key: string;
};
const v = JSON.parse(readFileSync(path.join(dir, 'vectors.json'), 'utf8'));
const merchantPrivateKey = pem('merchant_private_key.pem');
const merchantPublicKey = pem('merchant_public_key.pem');
const platformPrivateKey = pem('platform_private_key.pem');
const platformPublicKey = pem('platform_public_key.pem');
const TS = '1704074400'; // 2024-01-01T10:00:00+08:00

const account: WechatAccount = {
  channel: 'wechat',
  ...fixture,
  merchantPrivateKey,
  platformPublicKey,
  baseUrl: 'https://api.mch.weixin.qq.com/',
  notifyBaseUrl: 'https://pay.example.com/',
};

/** Independent of the code under test: plain node:crypto. */
const rsaVerify = (message: string, signature: string, key: string) =>
  createVerify('RSA-SHA256').update(message).verify(key, signature, 'base64');

const trade: TradeSnapshot = {
  tenantId: 't1',
  payNo: 'P20240101020000ABCDEFGHJKMN',
  attemptNo: 'A20240101020000ABCDEFGHJKMN',
  amount: 100n,
  currency: 'CNY',
  subject: 'Image形象店-深圳腾大-QQ公仔',
  description: '',
  attach: 'cart=42',
  expireAt: new Date('2024-01-01T02:15:00Z'),
  clientIp: '',
  payerId: '',
  returnUrl: '',
};

afterEach(() => jest.restoreAllMocks());

describe('request signature (merchant → WeChat)', () => {
  const { prepay, query } = v.requests;

  it('builds the 5-line message, each line ending in \\n, and signs it to the golden signature', () => {
    const built = buildPrepayRequest(trade, account, 'native');
    if (!built.ok) throw new Error(built.reason);
    expect(JSON.stringify(built.body)).toBe(prepay.body);
    const message = requestMessage('POST', '/v3/pay/transactions/native', TS, prepay.nonce, prepay.body);
    expect(message).toBe(`POST\n/v3/pay/transactions/native\n${TS}\n593BEC0C930BF1AFEB40B4A08C8FB242\n${prepay.body}\n`);
    expect(sign(message, merchantPrivateKey)).toBe(prepay.signature);
    expect(rsaVerify(message, prepay.signature, merchantPublicKey)).toBe(true);

    const getMessage = requestMessage('GET', query.url, TS, query.nonce, '');
    const url = '/v3/pay/transactions/out-trade-no/A20240101020000ABCDEFGHJKMN?mchid=1900000001';
    expect(getMessage).toBe(`GET\n${url}\n${TS}\n${query.nonce}\n\n`);
    expect(sign(getMessage, merchantPrivateKey)).toBe(query.signature);
  });

  it('formats the Authorization header and parses it back with the pairs in any order', () => {
    const params = {
      mchid: fixture.mchId,
      serial_no: fixture.merchantSerial,
      timestamp: TS,
      nonce_str: prepay.nonce,
      signature: prepay.signature,
    };
    expect(authorizationHeader(params)).toBe(prepay.header);
    expect(parseAuthorization(prepay.header)).toEqual(params);
    const goOrder =
      `WECHATPAY2-SHA256-RSA2048 mchid="${params.mchid}",nonce_str="${params.nonce_str}",timestamp="${TS}",` +
      `serial_no="${params.serial_no}",signature="${params.signature}"`;
    expect(parseAuthorization(goOrder)).toEqual(params);
    expect(parseAuthorization(goOrder.replace('WECHATPAY2-SHA256-RSA2048', 'Bearer'))).toBeUndefined();
    expect(parseAuthorization(goOrder.replace(`,signature="${params.signature}"`, ''))).toBeUndefined();
    expect(parseAuthorization(`${goOrder},mchid="1"`)).toBeUndefined();
  });

  it('is exactly what wechatpay-axios-plugin puts on the wire, for a POST body and a GET with a query', () => {
    const signer = Decorator.requestInterceptor() as (c: Record<string, unknown>) => { headers: { get(n: string): string } };
    const base = {
      baseURL: 'https://api.mch.weixin.qq.com/',
      mchid: fixture.mchId,
      serial: fixture.merchantSerial,
      privateKey: merchantPrivateKey,
      headers: {},
    };
    jest.spyOn(Formatter, 'timestamp').mockReturnValue(Number(TS));
    jest.spyOn(Formatter, 'nonce').mockReturnValueOnce(prepay.nonce).mockReturnValueOnce(query.nonce);
    const built = buildPrepayRequest(trade, account, 'native');
    if (!built.ok) throw new Error(built.reason);
    const post = signer({ ...base, method: 'post', url: 'v3/pay/transactions/native', data: built.body });
    expect(post.headers.get('Authorization')).toBe(prepay.header);
    const url = 'v3/pay/transactions/out-trade-no/A20240101020000ABCDEFGHJKMN';
    const get = signer({ ...base, method: 'get', url, params: { mchid: fixture.mchId } });
    expect(get.headers.get('Authorization')).toBe(query.header);
  });

  it('is accepted by the sandbox only for the exact method, URL, body and a fresh timestamp', () => {
    const registry = new MerchantRegistry();
    registry.register({ ...fixture, merchantPublicKey });
    const now = Number(TS) + 60;
    const req = { method: 'POST', originalUrl: prepay.url, authorization: prepay.header, rawBody: Buffer.from(prepay.body) };
    expect(verifyAuthorization(registry, req, now)).toMatchObject({ ok: true, merchant: { mchId: fixture.mchId } });
    const tampered = { ...req, rawBody: Buffer.from(prepay.body.replace('100', '101')) };
    expect(verifyAuthorization(registry, tampered, now)).toMatchObject({ ok: false, reason: 'sign not match' });
    expect(verifyAuthorization(registry, { ...req, originalUrl: '/v3/pay/transactions/app' }, now)).toMatchObject({ ok: false });
    expect(verifyAuthorization(registry, req, Number(TS) + 301)).toEqual({ ok: false, reason: 'timestamp expired' });
    const otherSerial = req.authorization.replace(fixture.merchantSerial, 'ABCDEF0123456789ABCDEF0123456789ABCDEF01');
    const unknownKey = { ok: false, reason: expect.stringContaining('unknown mchid') };
    expect(verifyAuthorization(registry, { ...req, authorization: otherSerial }, now)).toMatchObject(unknownKey);
  });
});

describe('client-side pay parameters', () => {
  it('signs the JSAPI paySign over appId, timeStamp, nonceStr and package', () => {
    const unsigned = { appId: fixture.appId, prepayId: v.jsapi.prepayId, timestamp: TS, nonce: v.jsapi.nonce };
    const params = jsapiPayParams(unsigned, merchantPrivateKey);
    expect(params).toEqual({
      appId: 'wxd678efh567hg6787',
      timeStamp: TS,
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
      paySign: v.jsapi.paySign,
    });
    const message = `wxd678efh567hg6787\n${TS}\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n`;
    expect(rsaVerify(message, params.paySign, merchantPublicKey)).toBe(true);
  });

  it('signs the App sign over appid, timestamp, noncestr and the bare prepayid', () => {
    const params = appPayParams(
      { appId: fixture.appId, mchId: fixture.mchId, prepayId: v.app.prepayId, timestamp: TS, nonce: v.app.nonce },
      merchantPrivateKey,
    );
    expect(params).toEqual({
      appid: 'wxd678efh567hg6787',
      partnerid: '1900000001',
      prepayid: 'wx201410272009395522657a690389285100',
      package: 'Sign=WXPay',
      noncestr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      timestamp: TS,
      sign: v.app.sign,
    });
    const message = `wxd678efh567hg6787\n${TS}\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nwx201410272009395522657a690389285100\n`;
    expect(rsaVerify(message, params.sign, merchantPublicKey)).toBe(true);
  });
});

describe('responses and notifies (WeChat → merchant)', () => {
  it('signs a 204 empty body over "ts\\nnonce\\n\\n", which the plugin verifier accepts', () => {
    const { nonce, signature } = v.emptyResponse;
    const message = responseMessage(TS, nonce, '');
    expect(message.toString('utf8')).toBe(`${TS}\n${nonce}\n\n`);
    expect(sign(message, platformPrivateKey)).toBe(signature);
    expect(verify(message, signature, platformPublicKey)).toBe(true);

    jest.spyOn(Formatter, 'timestamp').mockReturnValue(Number(TS) + 5);
    const verifier = Decorator.responseVerifier({ [fixture.platformPublicKeyId]: platformPublicKey }) as (
      this: object,
      data: string,
      headers: Record<string, string>,
      status: number,
    ) => unknown;
    const headers = {
      'Wechatpay-Timestamp': TS,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Serial': fixture.platformPublicKeyId,
      'Wechatpay-Signature': signature,
    };
    const config = { url: 'v3/pay/transactions/out-trade-no/X/close', validateStatus: () => true };
    expect(verifier.call(config, '', headers, 204)).toBe('');
    expect(verifier.call(config, ' ', headers, 204)).toMatchObject({ code: 'EV3_RES_HEADER_SIGNATURE_DIGEST' });
  });

  it('decrypts the golden notify resource, and fails on a wrong AAD, nonce or key', () => {
    const resource = { ciphertext: v.notify.ciphertext, nonce: v.notify.nonce, associated_data: v.notify.associatedData };
    expect(decryptResource(resource, fixture.apiV3Key)).toBe(v.notify.plaintext);
    expect(encryptResource(v.notify.plaintext, fixture.apiV3Key, v.notify.nonce, 'transaction')).toBe(v.notify.ciphertext);
    expect(() => decryptResource({ ...resource, associated_data: '' }, fixture.apiV3Key)).toThrow();
    expect(() => decryptResource({ ...resource, nonce: 'fdasflkja485' }, fixture.apiV3Key)).toThrow();
    expect(() => decryptResource(resource, fixture.apiV3Key.replace('0', '1'))).toThrow();
    expect(() => decryptResource(resource, 'short')).toThrow('32 bytes');
  });

  it('verifies the golden notify and maps it; refuses it stale, re-serialised, probed or under another serial', () => {
    const { body, headers } = v.notify;
    const raw = (h: Record<string, string>, rawBody = body) => ({
      tenantId: 't1',
      terminalType: 'native',
      headers: {
        'wechatpay-serial': fixture.platformPublicKeyId,
        'wechatpay-timestamp': h.timestamp,
        'wechatpay-nonce': h.nonce,
        'wechatpay-signature': h.signature,
      },
      rawBody: Buffer.from(rawBody, 'utf8'),
    });
    const now = Number(TS) + 10;
    expect(verifyWechatNotify(raw(headers), account, now)).toEqual({
      notify: {
        kind: 'payment',
        notifyId: 'EV-2018022511223320873',
        attemptNo: 'A20240101020000ABCDEFGHJKMN',
        status: {
          outcome: 'success',
          channelStatus: 'SUCCESS',
          channelTradeNo: '4200000985202401011234567890',
          currency: 'CNY',
          paidAmount: 100n,
          paidAt: new Date('2024-01-01T02:01:02Z'),
          payerChannelId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
          said: { message: '支付成功', payerAmount: 100n },
        },
      },
      identity: { outTradeNo: 'A20240101020000ABCDEFGHJKMN', appId: fixture.appId, merchantId: fixture.mchId },
    });
    expect(verifyWechatNotify(raw(headers), account, Number(TS) + 300)).toEqual({ invalid: expect.stringContaining('not within 300 s') });
    expect(verifyWechatNotify(raw(headers), account, Number(TS) - 300)).toEqual({ invalid: expect.stringContaining('not within 300 s') });
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    expect(verifyWechatNotify(raw(headers, reserialised), account, now)).toEqual({ invalid: 'bad signature' });
    const probe = { ...headers, signature: `WECHATPAY/SIGNTEST/${headers.signature.slice(19)}` };
    expect(verifyWechatNotify(raw(probe), account, now)).toEqual({ invalid: 'bad signature (WECHATPAY/SIGNTEST probe)' });
    const other = { ...account, platformPublicKeyId: 'PUB_KEY_ID_0100000000000000000000000000' };
    expect(verifyWechatNotify(raw(headers), other, now)).toEqual({ invalid: `unknown Wechatpay-Serial ${fixture.platformPublicKeyId}` });
    expect(verifyWechatNotify(raw(headers), { ...account, apiV3Key: 'ffffffffffffffffffffffffffffffff' }, now)).toEqual({
      invalid: 'cannot decrypt the resource of event EV-2018022511223320873',
    });
    const unsigned = { ...raw(headers), headers: {} };
    expect(verifyWechatNotify(unsigned, account, now)).toEqual({ invalid: 'missing Wechatpay-* signature headers' });
  });
});
