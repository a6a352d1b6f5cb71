import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AlipaySdk } from 'alipay-sdk';
import { normalizePrivateKey, normalizePublicKey } from '../../src/channels/alipay/keys';
import { parseNotifyBody, verifyNotifyForm } from '../../src/channels/alipay/notify';
import { alipaySignContent, responseKey, responseSignContent, rsa2Sign, rsa2Verify } from '../../src/channels/alipay/signing';
import { signedResponseText, signForm } from '../../sandboxes/alipay/protocol';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures/alipay', `${name}.pem`), 'utf8');
const APP_PRIVATE = fixture('app_private_key');
const APP_PUBLIC = fixture('app_public_key');
const ALIPAY_PRIVATE = fixture('alipay_private_key');
const ALIPAY_PUBLIC = fixture('alipay_public_key');

/** The request of channels.md §1.2, as alipay-sdk would send it. */
const REQUEST = {
  app_id: '2021000000000000',
  method: 'alipay.trade.precreate',
  charset: 'utf-8',
  sign_type: 'RSA2',
  timestamp: '2024-01-01 10:00:00',
  version: '1.0',
  notify_url: 'https://merchant.example/notify/alipay',
  biz_content: '{"out_trade_no":"T20240101001","total_amount":"88.88","subject":"测试商品"}',
};
const REQUEST_CONTENT =
  'app_id=2021000000000000&biz_content={"out_trade_no":"T20240101001","total_amount":"88.88","subject":"测试商品"}' +
  '&charset=utf-8&method=alipay.trade.precreate&notify_url=https://merchant.example/notify/alipay&sign_type=RSA2' +
  '&timestamp=2024-01-01 10:00:00&version=1.0';
const REQUEST_SIGN =
  'O7qB91V3YZYO0cxLI2hBZ8LWFHKh4J9nX1f5Nzip/NhTit6FbMCE4RwARzBpfwNYDVpmK4vecq5tuylJzQQpNkjOCy7yISJB08Fh6WtOetXOdAiXjTH9g68igdAHG/Hjd5xghn3l8sM8Jvf9Tc0FHNJS956bQkm+bqQmNGO/mt4rXZI4YkR+fJXOt/I4AZS5EeofOWU9gVSzy86x4p4chcJYr7xgZlpko1nbJ1vPZNMnpDFvsRT/ojLB/Ukv4UxItuCuMC2nxfchVMECpIEMIBoSw/Mq3mJqRAHrigLLYlkuLDBBWJpyv250WRTiaR0H73LdTZv8429mPkf1AI0K+Q==';

const RESPONSE_INNER = '{"code":"10000","msg":"Success","out_trade_no":"T20240101001","qr_code":"https:\\/\\/qr.alipay.com\\/bax01234"}';
const RESPONSE_SIGN =
  'Pi4mL1DpMdhkCL343Wgxp60O2ePq+hh+wSL+4Brd4yXis9qNdtZXBHcUqUAjLPOV2d4bfscerxDBnQoUjBKvzzG6LU2I0uZWpcVsVpPYC8t2IPGtSv8HB1Tc2nBN6e/1SZNryNL/9I/0jgzU9CFswiM1J4QvKIEJqTRsYUMy8FWPBMx/wX3qtVMuhHN/9EGsSbg2Qe659MgZpr2j9ixoFoMkN/h4YHUfM2C//QMZpUV+nDyOVHIrZB46BXdhut67pZy829GAJKecI67sn4LTc3nS202UNoN1VLeE4fUvbeG6yhMrbZ2U3BFrZ121SXNUUvWegv4sM4Z3EOgnM/Lk1Q==';

const NOTIFY: Record<string, string> = {
  notify_time: '2024-01-01 10:01:02',
  notify_type: 'trade_status_sync',
  notify_id: 'ac05099524730693a8b330c5ecf72da9786',
  app_id: '2021000000000000',
  charset: 'utf-8',
  version: '1.0',
  sign_type: 'RSA2',
  trade_no: '2024010122001400000000000001',
  out_trade_no: 'T20240101001',
  seller_id: '2088000000000000',
  trade_status: 'TRADE_SUCCESS',
  total_amount: '88.88',
  subject: '测试商品',
  gmt_payment: '2024-01-01 10:01:00',
  fund_bill_list: '[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]',
};
const NOTIFY_CONTENT =
  'app_id=2021000000000000&charset=utf-8&fund_bill_list=[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]' +
  '&gmt_payment=2024-01-01 10:01:00&notify_id=ac05099524730693a8b330c5ecf72da9786&notify_time=2024-01-01 10:01:02' +
  '&notify_type=trade_status_sync&out_trade_no=T20240101001&seller_id=2088000000000000&subject=测试商品&total_amount=88.88' +
  '&trade_no=2024010122001400000000000001&trade_status=TRADE_SUCCESS&version=1.0';
const NOTIFY_SIGN =
  'h1JrPzyBb1qspF8wr/0+Unl+plEt51m6lwTQikGWGKWNzEv0PoimwX5EhTBnTTkuZDbvBc7E5tFaeszAbKlbFmfIzXVhyRuS2aLa5OiawnWMfooEsW3jUXC0/cd4GbVKz1DdiA9J6VEE/3upBA8QUqAGvNmjSDlMEmqW4aemCCF0+IyeyZNGQWfY3mJw8e1zCvJMYBGAjps0mc8XHPU9YZ51Nktu8fPXdHGT8aqW2+5OFg2ufIwhd6XCwLlFSB2/ZrKi2/UnP2bUyEU75gLowE+y/MF6Te5bbhPbu5B9cxE0t8jh39X/FO7aNemuSpWWzYMXSlYDW/MgWMAfecAI3A==';

describe('request signing (sign_type kept, empty values dropped)', () => {
  it('builds the exact sign content and the golden signature', () => {
    expect(alipaySignContent(REQUEST)).toBe(REQUEST_CONTENT);
    expect(rsa2Sign(REQUEST_CONTENT, APP_PRIVATE)).toBe(REQUEST_SIGN);
    expect(rsa2Verify(REQUEST_CONTENT, REQUEST_SIGN, APP_PUBLIC)).toBe(true);
  });

  it('drops sign, empty and undefined values; dropSignType drops sign_type too', () => {
    const withNoise = { ...REQUEST, sign: 'x', app_auth_token: '', return_url: undefined };
    expect(alipaySignContent(withNoise)).toBe(REQUEST_CONTENT);
    expect(alipaySignContent(REQUEST, { dropSignType: true })).toBe(REQUEST_CONTENT.replace('&sign_type=RSA2', ''));
  });

  it('matches what alipay-sdk signs for the same request (PKCS#8, PKCS#1 and bare base64 keys alike)', () => {
    const pkcs1 = createPrivateKey(APP_PRIVATE).export({ type: 'pkcs1', format: 'pem' }).toString();
    const bare = APP_PRIVATE.split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    for (const key of [APP_PRIVATE, pkcs1, bare]) {
      const sdk = new AlipaySdk({ appId: REQUEST.app_id, privateKey: normalizePrivateKey(key), keyType: 'PKCS8' });
      const orderString = sdk.sdkExecute(
        REQUEST.method,
        { bizContent: JSON.parse(REQUEST.biz_content), notify_url: REQUEST.notify_url, timestamp: REQUEST.timestamp },
        { bizContentAutoSnakeCase: false },
      );
      expect(new URLSearchParams(orderString).get('sign')).toBe(REQUEST_SIGN);
    }
    expect(
      normalizePublicKey(
        APP_PUBLIC.split('\n')
          .filter((l) => l && !l.startsWith('-----'))
          .join(''),
      ),
    ).toBe(APP_PUBLIC);
  });

  it('fails for any change in content and for malformed signatures', () => {
    expect(rsa2Verify(REQUEST_CONTENT.replace('88.88', '88.89'), REQUEST_SIGN, APP_PUBLIC)).toBe(false);
    expect(rsa2Verify(REQUEST_CONTENT, REQUEST_SIGN, ALIPAY_PUBLIC)).toBe(false);
    expect(rsa2Verify(REQUEST_CONTENT, 'not base64!', APP_PUBLIC)).toBe(false);
    expect(rsa2Verify(REQUEST_CONTENT, '', APP_PUBLIC)).toBe(false);
  });
});

describe('response signature', () => {
  const raw = `{"alipay_trade_precreate_response":${RESPONSE_INNER},"sign":"${RESPONSE_SIGN}"}`;

  it('is over the exact inner JSON text, escaped slashes and all (golden)', () => {
    expect(responseKey('alipay.trade.precreate')).toBe('alipay_trade_precreate_response');
    expect(responseSignContent(raw, 'alipay_trade_precreate_response')).toBe(RESPONSE_INNER);
    expect(rsa2Sign(RESPONSE_INNER, ALIPAY_PRIVATE)).toBe(RESPONSE_SIGN);
    expect(rsa2Verify(RESPONSE_INNER, RESPONSE_SIGN, ALIPAY_PUBLIC)).toBe(true);
    // Re-serialising instead of slicing loses the \/ escapes, and the signature with them.
    expect(rsa2Verify(JSON.stringify(JSON.parse(RESPONSE_INNER)), RESPONSE_SIGN, ALIPAY_PUBLIC)).toBe(false);
  });

  it('finds the matching brace past nested objects, braces and quotes inside strings', () => {
    const inner = '{"code":"40004","sub_msg":"a}b{\\"c}","nested":{"x":[{"y":"}"}]}}';
    const text = `{"alipay_trade_query_response":${inner},"alipay_cert_sn":"x","sign":"s"}`;
    expect(responseSignContent(text, 'alipay_trade_query_response')).toBe(inner);
    expect(responseSignContent(text, 'alipay_trade_close_response')).toBeUndefined();
  });

  it("agrees with alipay-sdk's own extraction on the sandbox's signed responses", () => {
    const sdk = new AlipaySdk({ appId: '1', privateKey: APP_PRIVATE, keyType: 'PKCS8', alipayPublicKey: ALIPAY_PUBLIC });
    const inner = { code: '10000', msg: 'Success', out_trade_no: 'T1', qr_code: 'https://qr.alipay.com/bax0' };
    const text = signedResponseText('alipay.trade.precreate', inner, ALIPAY_PRIVATE);
    const key = 'alipay_trade_precreate_response';
    expect(sdk.getSignStr(text, key)).toBe(responseSignContent(text, key));
    expect(() => sdk.checkResponseSign(text, key, JSON.parse(text).sign, '')).not.toThrow();
    const tampered = signedResponseText('alipay.trade.precreate', inner, ALIPAY_PRIVATE, true);
    expect(() => sdk.checkResponseSign(tampered, key, JSON.parse(tampered).sign, '')).toThrow();
  });
});

describe('notify verification (sign and sign_type removed)', () => {
  const body = (form: Record<string, string>) => Buffer.from(new URLSearchParams(form).toString());
  const parsed = (form: Record<string, string>) => {
    const r = parseNotifyBody(body(form));
    if ('invalid' in r) throw new Error(r.invalid);
    return r.form;
  };

  it('builds the exact sign content and the golden signature', () => {
    expect(alipaySignContent(NOTIFY, { dropSignType: true })).toBe(NOTIFY_CONTENT);
    expect(rsa2Sign(NOTIFY_CONTENT, ALIPAY_PRIVATE)).toBe(NOTIFY_SIGN);
    expect(signForm(NOTIFY, ALIPAY_PRIVATE).sign).toBe(NOTIFY_SIGN);
  });

  it('verifies through a form round trip, with sign_type present or absent', () => {
    const signed = { ...NOTIFY, sign: NOTIFY_SIGN };
    expect(verifyNotifyForm(parsed(signed), ALIPAY_PUBLIC)).toBeUndefined();
    const withoutSignType: Record<string, string> = { ...signed };
    delete withoutSignType.sign_type;
    expect(verifyNotifyForm(parsed(withoutSignType), ALIPAY_PUBLIC)).toBeUndefined();
    const sdk = new AlipaySdk({ appId: '1', privateKey: APP_PRIVATE, keyType: 'PKCS8', alipayPublicKey: ALIPAY_PUBLIC });
    expect(sdk.checkNotifySignV2(parsed(signed))).toBe(true);
  });

  it('keeps values exactly as decoded: +, &, =, %, spaces, Chinese, JSON', () => {
    const awkward = { ...NOTIFY, subject: 'a+b & c=d 100% 测试', passback_params: 'k%3Dv%26x', body: '{"a":"b c"}' };
    const form = parsed(signForm(awkward, ALIPAY_PRIVATE));
    expect(form.subject).toBe('a+b & c=d 100% 测试');
    expect(form.passback_params).toBe('k%3Dv%26x');
    expect(verifyNotifyForm(form, ALIPAY_PUBLIC)).toBeUndefined();
  });

  it.each([
    ['a tampered amount', { total_amount: '0.01' }, 'bad notify signature'],
    ['an added field', { refund_fee: '88.88' }, 'bad notify signature'],
    ['another sign_type', { sign_type: 'RSA' }, 'unsupported sign_type RSA'],
    ['another charset', { charset: 'GBK' }, 'unsupported charset GBK'],
    ['no sign', { sign: '' }, 'notify has no sign'],
  ])('refuses %s', (_what, change, reason) => {
    const form = { ...NOTIFY, sign: NOTIFY_SIGN, ...change };
    expect(verifyNotifyForm(parsed(form), ALIPAY_PUBLIC)).toBe(reason);
  });

  it('refuses a notify signed by another key, and a field given twice', () => {
    const forged = signForm(NOTIFY, APP_PRIVATE);
    expect(verifyNotifyForm(parsed(forged), ALIPAY_PUBLIC)).toBe('bad notify signature');
    const twice = Buffer.from(`${new URLSearchParams(signForm(NOTIFY, ALIPAY_PRIVATE))}&total_amount=0.01`);
    expect(parseNotifyBody(twice)).toEqual({ invalid: 'field total_amount given twice' });
  });
});
