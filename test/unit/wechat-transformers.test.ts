import type { RefundSnapshot, TradeSnapshot } from '../../src/channels/types';
import type { WechatAccount } from '../../src/channels/wechat';
import {
  beijingTime,
  buildPrepayRequest,
  checkedRefundStatus,
  buildRefundRequest,
  ERROR_VERDICTS,
  errorVerdict,
  fenToNumber,
  notifyUrl,
  REFUND_STATUS_OUTCOMES,
  refundOutcome,
  toRefundNotify,
  toRefundStatus,
  toTradeAnswer,
  TRADE_STATE_OUTCOMES,
  tradeOutcome,
  type ErrorVerdict,
  type WechatOperation,
} from '../../src/channels/wechat/transformers';
import { refund as refundSchema, refundResource, transaction } from '../../src/channels/wechat/wire';

const account: WechatAccount = {
  channel: 'wechat',
  mchId: '1900000001',
  appId: 'wxd678efh567hg6787',
  merchantPrivateKey: '',
  merchantSerial: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
  platformPublicKey: '',
  platformPublicKeyId: 'PUB_KEY_ID_0112345678202401010000000000',
  apiV3Key: '0123456789abcdef0123456789ABCDEF',
  baseUrl: 'https://api.mch.weixin.qq.com/',
  notifyBaseUrl: 'https://pay.example.com/base//',
};

const trade: TradeSnapshot = {
  tenantId: 'tenant-1',
  payNo: 'P1',
  attemptNo: 'A20240101020000ABCDEFGHJKMN',
  amount: 8888n,
  currency: 'CNY',
  subject: 'Green tea',
  description: '',
  attach: '',
  expireAt: new Date('2024-01-01T23:30:00Z'),
  clientIp: '203.0.113.7',
  payerId: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  returnUrl: '',
};

describe('status tables', () => {
  it.each([
    ['SUCCESS', 'success'],
    ['REFUND', 'success'],
    ['NOTPAY', 'pending'],
    ['USERPAYING', 'pending'],
    ['CLOSED', 'fail'],
    ['REVOKED', 'fail'],
    ['PAYERROR', 'fail'],
    ['ACCEPT', 'unknown'],
    ['success', 'unknown'],
    ['', 'unknown'],
    ['toString', 'unknown'],
    ['__proto__', 'unknown'],
  ])('trade_state %s → %s', (state, outcome) => {
    expect(tradeOutcome(state)).toBe(outcome);
  });

  it('has exactly the documented trade states', () => {
    const documented = ['CLOSED', 'NOTPAY', 'PAYERROR', 'REFUND', 'REVOKED', 'SUCCESS', 'USERPAYING'];
    expect(Object.keys(TRADE_STATE_OUTCOMES).sort()).toEqual(documented);
  });

  it.each([
    ['SUCCESS', 'success'],
    ['CLOSED', 'fail'],
    ['PROCESSING', 'pending'],
    ['ABNORMAL', 'pending'],
    ['FAIL', 'unknown'],
    ['constructor', 'unknown'],
  ])('refund status %s → %s', (status, outcome) => {
    expect(refundOutcome(status)).toBe(outcome);
  });

  it('has exactly the documented refund statuses; ABNORMAL says it needs manual handling', () => {
    expect(Object.keys(REFUND_STATUS_OUTCOMES).sort()).toEqual(['ABNORMAL', 'CLOSED', 'PROCESSING', 'SUCCESS']);
    const answer = { refund_id: '50R', out_refund_no: 'R000001', status: 'ABNORMAL', amount: { total: 10, refund: 5 } };
    const abnormal = toRefundStatus(refundSchema.parse(answer));
    const reason = expect.stringContaining('manual handling');
    expect(abnormal).toEqual({ outcome: 'pending', channelStatus: 'ABNORMAL', channelRefundNo: '50R', reason });
    expect(abnormal.reason).toContain('not final');
  });
});

describe('error codes', () => {
  const cases: Array<[WechatOperation, number, string, ErrorVerdict]> = [
    ['query', 404, 'ORDER_NOT_EXIST', 'pending'],
    ['close', 404, 'ORDER_NOT_EXIST', 'closed'],
    ['close', 400, 'ORDERPAID', 'paid'],
    ['close', 403, 'ORDERPAID', 'paid'],
    ['prepay', 400, 'PARAM_ERROR', 'fail'],
    ['prepay', 400, 'INVALID_REQUEST', 'fail'],
    ['prepay', 403, 'NO_AUTH', 'fail'],
    ['prepay', 400, 'ORDERPAID', 'unknown'],
    ['prepay', 401, 'SIGN_ERROR', 'unknown'],
    ['prepay', 404, 'ORDER_NOT_EXIST', 'unknown'],
    ['refund', 400, 'INVALID_REQUEST', 'fail'],
    ['refund', 403, 'NOT_ENOUGH', 'fail'],
    ['refund', 404, 'RESOURCE_NOT_EXISTS', 'fail'],
    ['queryRefund', 404, 'RESOURCE_NOT_EXISTS', 'pending'],
    ['query', 404, 'RESOURCE_NOT_EXISTS', 'unknown'],
    ['query', 401, 'SIGN_ERROR', 'unknown'],
    ['close', 400, 'PARAM_ERROR', 'unknown'],
  ];
  it.each(cases)('%s HTTP %i %s → %s', (op, status, code, verdict) => {
    expect(errorVerdict(op, status, code)).toBe(verdict);
  });

  const operations = Object.keys(ERROR_VERDICTS) as WechatOperation[];
  it.each(operations)('%s: 5xx, SYSTEM_ERROR, 429 FREQUENCY_LIMITED and non-errors are unknown, whatever the code', (op) => {
    for (const code of [...Object.keys(ERROR_VERDICTS[op]), 'SYSTEM_ERROR', 'FREQUENCY_LIMITED']) {
      expect(errorVerdict(op, 500, code)).toBe('unknown');
      expect(errorVerdict(op, 503, code)).toBe('unknown');
      expect(errorVerdict(op, 429, code)).toBe('unknown');
      expect(errorVerdict(op, 302, code)).toBe('unknown');
    }
    expect(errorVerdict(op, 400, 'SYSTEM_ERROR')).toBe('unknown');
    expect(errorVerdict(op, 400, 'FREQUENCY_LIMITED')).toBe('unknown');
    expect(errorVerdict(op, 400, 'hasOwnProperty')).toBe('unknown');
  });
});

describe('request builders', () => {
  it('formats time_expire as RFC 3339 in Beijing time and the notify URL per terminal', () => {
    expect(beijingTime(new Date('2024-01-01T23:30:00.123Z'))).toBe('2024-01-02T07:30:00+08:00');
    expect(notifyUrl(account, 'tenant-1', 'h5')).toBe('https://pay.example.com/base/notify/wx/tenant-1/h5');
  });

  it('converts fen to a JSON number only when positive and exactly representable', () => {
    expect(fenToNumber(1n)).toBe(1);
    expect(fenToNumber(9007199254740991n)).toBe(9007199254740991);
    expect(fenToNumber(9007199254740992n)).toBeUndefined();
    expect(fenToNumber(0n)).toBeUndefined();
    expect(fenToNumber(-5n)).toBeUndefined();
  });

  it.each([
    ['app', {}],
    ['native', {}],
    ['jsapi', { payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } }],
    ['h5', { scene_info: { payer_client_ip: '203.0.113.7', h5_info: { type: 'Wap' } } }],
  ] as const)('builds the %s prepay body', (terminal, extra) => {
    expect(buildPrepayRequest(trade, account, terminal)).toEqual({
      ok: true,
      body: {
        appid: 'wxd678efh567hg6787',
        mchid: '1900000001',
        description: 'Green tea',
        out_trade_no: 'A20240101020000ABCDEFGHJKMN',
        time_expire: '2024-01-02T07:30:00+08:00',
        notify_url: `https://pay.example.com/base/notify/wx/tenant-1/${terminal}`,
        amount: { total: 8888, currency: 'CNY' },
        ...extra,
      },
    });
  });

  it('adds attach only when non-empty and cuts the description at 127 characters', () => {
    const long = '茶'.repeat(126) + '😀😀';
    const built = buildPrepayRequest({ ...trade, attach: 'cart=42', subject: long }, account, 'native');
    if (!built.ok) throw new Error(built.reason);
    expect(built.body.attach).toBe('cart=42');
    expect(Array.from(built.body.description)).toHaveLength(127);
    expect(built.body.description.endsWith('😀')).toBe(true);
  });

  it.each([
    ['JSAPI without an openid', { payerId: '' }, 'jsapi', 'JSAPI needs the payer openid'],
    ['H5 without a client IP', { clientIp: '' }, 'h5', 'client IP'],
    ['an unsafe amount', { amount: 2n ** 53n }, 'native', 'not a positive safe integer'],
    ['a zero amount', { amount: 0n }, 'app', 'not a positive safe integer'],
    ['another currency', { currency: 'USD' }, 'native', 'CNY only'],
    ['an empty subject', { subject: '  ' }, 'native', 'empty'],
    ['a bad out_trade_no', { attemptNo: 'A/1' }, 'native', 'out_trade_no'],
  ] as const)('refuses %s', (_name, change, terminal, reason) => {
    expect(buildPrepayRequest({ ...trade, ...change }, account, terminal)).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('builds the refund body and refuses impossible refunds', () => {
    const refund: RefundSnapshot = {
      tenantId: 'tenant-1',
      payNo: 'P1',
      attemptNo: trade.attemptNo,
      refundNo: 'R20240101020000ABCDEFGHJKMN',
      tradeAmount: 8888n,
      amount: 888n,
      currency: 'CNY',
      reason: 'damaged',
    };
    expect(buildRefundRequest(refund, account, 'native')).toEqual({
      ok: true,
      body: {
        out_trade_no: trade.attemptNo,
        out_refund_no: 'R20240101020000ABCDEFGHJKMN',
        reason: 'damaged',
        notify_url: 'https://pay.example.com/base/notify/wx/tenant-1/native',
        amount: { refund: 888, total: 8888, currency: 'CNY' },
      },
    });
    const noReason = buildRefundRequest({ ...refund, reason: '' }, account, 'app');
    expect(noReason.ok && 'reason' in noReason.body).toBe(false);
    const exceeds = { ok: false, reason: expect.stringContaining('exceeds') };
    expect(buildRefundRequest({ ...refund, amount: 8889n }, account, 'app')).toMatchObject(exceeds);
    expect(buildRefundRequest({ ...refund, amount: 0n }, account, 'app')).toMatchObject({ ok: false });
  });
});

describe('answers and notifies → domain', () => {
  it('maps a paid Transaction with its identity, amount as bigint and paid time', () => {
    const paid = transaction.parse({
      appid: 'wxd678efh567hg6787',
      mchid: '1900000001',
      out_trade_no: 'A1',
      transaction_id: '4200000985202401011234567890',
      trade_type: 'NATIVE',
      trade_state: 'SUCCESS',
      trade_state_desc: '支付成功',
      success_time: '2024-01-01T10:01:02+08:00',
      amount: { total: 8888, payer_total: 8800, currency: 'CNY', payer_currency: 'CNY' },
    });
    expect(toTradeAnswer(paid)).toEqual({
      outcome: 'success',
      channelStatus: 'SUCCESS',
      outTradeNo: 'A1',
      appId: 'wxd678efh567hg6787',
      merchantId: '1900000001',
      channelTradeNo: '4200000985202401011234567890',
      currency: 'CNY',
      paidAmount: 8888n,
      paidAt: new Date('2024-01-01T02:01:02Z'),
      said: { message: '支付成功', payerAmount: 8800n },
    });
  });

  it('reports no paid amount for an unpaid Transaction, and refuses inexact amounts', () => {
    const unpaid = transaction.parse({
      out_trade_no: 'A1',
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
      amount: { total: 8888 },
    });
    expect(toTradeAnswer(unpaid)).toEqual({ outcome: 'pending', channelStatus: 'NOTPAY', outTradeNo: 'A1', reason: '订单未支付' });
    expect(transaction.safeParse({ out_trade_no: 'A1', trade_state: 'SUCCESS', amount: { total: 88.5 } }).success).toBe(false);
    expect(transaction.safeParse({ out_trade_no: 'A1', trade_state: 'SUCCESS', amount: { total: 2 ** 53 } }).success).toBe(false);
  });

  it('trusts a Refund answer only about this refund, trade and amount', () => {
    const snapshot: RefundSnapshot = {
      tenantId: 't1',
      payNo: 'P1',
      attemptNo: 'A000001',
      refundNo: 'R000001',
      tradeAmount: 100n,
      amount: 40n,
      currency: 'CNY',
      reason: '',
    };
    const answer = refundSchema.parse({
      refund_id: '50R',
      out_refund_no: 'R000001',
      out_trade_no: 'A000001',
      status: 'SUCCESS',
      amount: { total: 100, refund: 40 },
    });
    expect(checkedRefundStatus(snapshot, answer)).toEqual({ outcome: 'success', channelStatus: 'SUCCESS', channelRefundNo: '50R' });
    const wrong = { ...answer, out_refund_no: 'R000002', out_trade_no: 'A000002', amount: { total: 100n, refund: 41n } };
    expect(checkedRefundStatus(snapshot, wrong)).toEqual({
      outcome: 'unknown',
      channelStatus: 'SUCCESS',
      reason:
        'integrity check failed: out_refund_no R000002 is not R000001; out_trade_no A000002 is not A000001; ' +
        'refund amount 41 is not 40',
    });
  });

  it.each([
    ['SUCCESS', 'success'],
    ['CLOSED', 'fail'],
    ['ABNORMAL', 'pending'],
  ])('maps a REFUND.%s resource to a refund notify (%s)', (status, outcome) => {
    const resource = refundResource.parse({
      mchid: '1900000001',
      out_trade_no: 'A1',
      transaction_id: '42',
      out_refund_no: 'R1',
      refund_id: '50R',
      refund_status: status,
      amount: { total: 100, refund: 40, payer_total: 100, payer_refund: 40 },
    });
    expect(toRefundNotify('EV-1', resource)).toEqual({
      notify: {
        kind: 'refund',
        notifyId: 'EV-1',
        attemptNo: 'A1',
        refundNo: 'R1',
        amount: 40n,
        status: expect.objectContaining({ outcome, channelStatus: status, channelRefundNo: '50R' }),
      },
      identity: { outTradeNo: 'A1', merchantId: '1900000001' },
    });
  });
});
