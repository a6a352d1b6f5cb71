import { fenToYuan, isTradeAmount, yuanToFen } from '../../src/channels/alipay/amount';
import { alipayAck, toChannelNotify } from '../../src/channels/alipay/notify';
import { beijingTime, parseBeijingTime } from '../../src/channels/alipay/time';
import {
  closeErrorAnswer,
  createErrorOutcome,
  notifyUrl,
  payBizContent,
  queryErrorOutcome,
  refundBizContent,
  toRefundStatus,
  toTradeAnswer,
  TRADE_STATUS_OUTCOMES,
  tradeOutcome,
  tradeProblem,
} from '../../src/channels/alipay/transformers';
import { queryAnswer, refundQueryAnswer } from '../../src/channels/alipay/wire';
import type { AlipayAccount } from '../../src/channels/alipay';
import type { RefundSnapshot, TradeSnapshot } from '../../src/channels/types';

describe('fen ⇄ yuan', () => {
  it.each([
    ['0.01', 1n],
    ['0.10', 10n],
    ['0.1', 10n],
    ['1', 100n],
    ['1.5', 150n],
    ['1.50', 150n],
    ['1.05', 105n],
    ['88.88', 8888n],
    ['0', 0n],
    ['0.00', 0n],
    ['100000000.00', 10_000_000_000n],
    ['100000000', 10_000_000_000n],
    ['007.10', 710n],
    ['92233720368547758.07', 9_223_372_036_854_775_807n],
    ['123456789012345678901234.99', 12_345_678_901_234_567_890_123_499n],
  ])('yuanToFen(%j) = %s', (yuan, fen) => {
    expect(yuanToFen(yuan)).toBe(fen);
  });

  it.each([
    '',
    ' ',
    ' 1',
    '1 ',
    '-1',
    '+1',
    '1.',
    '.5',
    '1.234',
    '1.001',
    '1e2',
    '1E2',
    '0x10',
    '1,000',
    '1_000',
    'NaN',
    'Infinity',
    '1.5.5',
    '１',
    '٣',
    '¥1',
    '1元',
    '1.-1',
    '--1',
    '\n1',
    '1\n',
  ])('yuanToFen(%j) is refused', (bad) => {
    expect(() => yuanToFen(bad)).toThrow(RangeError);
  });

  it('refuses non-strings without coercion', () => {
    for (const bad of [1, 1.5, null, undefined, 1n, {}]) expect(() => yuanToFen(bad as string)).toThrow(RangeError);
  });

  it.each([
    [0n, '0.00'],
    [1n, '0.01'],
    [9n, '0.09'],
    [10n, '0.10'],
    [99n, '0.99'],
    [100n, '1.00'],
    [101n, '1.01'],
    [150n, '1.50'],
    [8888n, '88.88'],
    [10_000_000_000n, '100000000.00'],
    [9_223_372_036_854_775_807n, '92233720368547758.07'],
  ])('fenToYuan(%s) = %j', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
  });

  it('refuses negative amounts and non-bigints', () => {
    expect(() => fenToYuan(-1n)).toThrow(RangeError);
    expect(() => fenToYuan(1 as unknown as bigint)).toThrow(RangeError);
  });

  it('round-trips exactly, far beyond the range of a double', () => {
    const samples = [0n, 1n, 99n, 100n, 12_345n, 2n ** 53n + 1n, 10n ** 30n + 7n];
    for (let i = 0n; i < 1000n; i += 1n) samples.push(i * 7919n + (i % 100n));
    for (const fen of samples) expect(yuanToFen(fenToYuan(fen))).toBe(fen);
  });

  it("knows Alipay's 0.01 to 100000000.00 yuan limits", () => {
    expect([0n, 1n, 10_000_000_000n, 10_000_000_001n, -1n].map(isTradeAmount)).toEqual([false, true, true, false, false]);
  });
});

describe('Beijing time', () => {
  it.each([
    ['2024-01-01T02:00:00.000Z', '2024-01-01 10:00:00'],
    ['2024-12-31T16:30:05.999Z', '2025-01-01 00:30:05'],
    ['2024-02-29T15:59:59.000Z', '2024-02-29 23:59:59'],
  ])('%s is %s in Beijing', (iso, text) => {
    expect(beijingTime(new Date(iso))).toBe(text);
    expect(parseBeijingTime(text)?.toISOString()).toBe(iso.replace(/\.\d{3}Z$/, '.000Z'));
  });

  it('reads the millisecond form and refuses impossible or malformed times', () => {
    expect(parseBeijingTime('2024-01-01 10:00:00.320')?.toISOString()).toBe('2024-01-01T02:00:00.320Z');
    for (const bad of ['2024-02-30 10:00:00', '2024-01-01T10:00:00', '2024-01-01 24:00:00', '2024-1-1 10:00:00', '', undefined]) {
      expect(parseBeijingTime(bad)).toBeUndefined();
    }
  });
});

describe('trade_status → outcome', () => {
  it('is the documented table; any other status is unknown', () => {
    expect(TRADE_STATUS_OUTCOMES).toEqual({
      WAIT_BUYER_PAY: 'pending',
      TRADE_SUCCESS: 'success',
      TRADE_FINISHED: 'success',
      TRADE_CLOSED: 'fail',
    });
    for (const other of ['TRADE_PENDING', 'trade_success', '', 'toString', '__proto__']) expect(tradeOutcome(other)).toBe('unknown');
  });

  const answer = (fields: Record<string, string>) =>
    toTradeAnswer(
      queryAnswer.parse({ code: '10000', msg: 'Success', trade_no: 'T1', out_trade_no: 'A1', total_amount: '88.88', ...fields }),
    );

  it.each([
    [{ trade_status: 'WAIT_BUYER_PAY' }, { outcome: 'pending', channelStatus: 'WAIT_BUYER_PAY' }],
    [
      { trade_status: 'TRADE_SUCCESS', send_pay_date: '2024-01-01 10:00:00' },
      { outcome: 'success', paidAmount: 8888n, paidAt: new Date('2024-01-01T02:00:00Z') },
    ],
    [
      { trade_status: 'TRADE_FINISHED', send_pay_date: '2024-01-01 10:00:00' },
      { outcome: 'success', paidAmount: 8888n },
    ],
    [{ trade_status: 'TRADE_CLOSED' }, { outcome: 'fail', channelStatus: 'TRADE_CLOSED' }],
    [
      { trade_status: 'TRADE_CLOSED', send_pay_date: '2024-01-01 10:00:00' },
      { outcome: 'unknown', reason: expect.stringMatching(/refunded/) },
    ],
    [{ trade_status: 'SOMETHING_NEW' }, { outcome: 'unknown' }],
  ])('query answer %j → %j', (fields, expected) => {
    const a = answer(fields);
    expect(a).toMatchObject({ ...expected, channelTradeNo: 'T1', outTradeNo: 'A1', currency: 'CNY' });
    if (a.outcome !== 'success') expect(a.paidAmount).toBeUndefined();
  });

  it('does not parse a query answer with a float-ish amount', () => {
    expect(queryAnswer.safeParse({ trade_status: 'TRADE_SUCCESS', total_amount: '88.888' }).success).toBe(false);
    expect(queryAnswer.safeParse({ trade_status: 'TRADE_SUCCESS', total_amount: 88.88 }).success).toBe(false);
  });
});

describe('sub_code → outcome, per operation', () => {
  const e = (code: string, sub_code?: string) => ({ code, msg: 'x', ...(sub_code && { sub_code }) });

  it.each([
    ['40004', 'ACQ.TRADE_NOT_EXIST', 'pending'],
    ['40004', 'ACQ.SYSTEM_ERROR', 'unknown'],
    ['20000', 'isp.unknow-error', 'unknown'],
    ['20000', 'aop.unknow-error', 'unknown'],
    ['20000', 'ACQ.TRADE_NOT_EXIST', 'unknown'],
    ['40004', 'ACQ.INVALID_PARAMETER', 'unknown'],
    ['40002', 'isv.invalid-signature', 'unknown'],
    ['40004', undefined, 'unknown'],
  ])('query %s %s → %s', (code, sub, outcome) => {
    expect(queryErrorOutcome(e(code, sub))).toBe(outcome);
  });

  it.each([
    ['40004', 'ACQ.TRADE_NOT_EXIST', 'closed'],
    ['40004', 'ACQ.TRADE_HAS_CLOSE', 'closed'],
    ['40004', 'ACQ.TRADE_HAS_SUCCESS', 'paid'],
    ['40004', 'ACQ.TRADE_STATUS_ERROR', 'unknown'],
    ['40004', 'ACQ.SYSTEM_ERROR', 'unknown'],
    ['20000', 'isp.unknow-error', 'unknown'],
    ['40002', 'isv.invalid-signature', 'unknown'],
  ])('close %s %s → %s', (code, sub, outcome) => {
    expect(closeErrorAnswer(e(code, sub)).outcome).toBe(outcome);
  });

  it.each([
    ['40004', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', 'fail'],
    ['40004', 'ACQ.SELLER_BALANCE_NOT_ENOUGH', 'fail'],
    ['40004', 'ACQ.TRADE_NOT_EXIST', 'fail'],
    ['40004', 'ACQ.TRADE_STATUS_ERROR', 'fail'],
    ['40004', 'ACQ.CONTEXT_INCONSISTENT', 'fail'],
    ['40002', 'isv.invalid-signature', 'fail'],
    ['40004', 'ACQ.TRADE_HAS_SUCCESS', 'unknown'],
    ['40004', 'ACQ.SYSTEM_ERROR', 'unknown'],
    ['20000', 'isp.unknow-error', 'unknown'],
    ['20000', undefined, 'unknown'],
  ])('precreate/refund %s %s → %s', (code, sub, outcome) => {
    expect(createErrorOutcome(e(code, sub))).toBe(outcome);
  });

  it.each([
    [{ refund_status: 'REFUND_SUCCESS', refund_amount: '10.00' }, 'success', 'REFUND_SUCCESS'],
    [{}, 'pending', 'REFUND_NOT_FOUND'],
    [{ refund_status: '' }, 'pending', 'REFUND_NOT_FOUND'],
    [{ refund_status: 'REFUND_PROCESSING' }, 'unknown', 'REFUND_PROCESSING'],
  ])('fastpay.refund.query %j → %s', (fields, outcome, channelStatus) => {
    expect(toRefundStatus(refundQueryAnswer.parse({ code: '10000', ...fields }))).toEqual({ outcome, channelStatus });
  });
});

describe('request builders', () => {
  const trade: TradeSnapshot = {
    tenantId: 'tenant/1',
    payNo: 'P1',
    attemptNo: 'A20240101020000ABCDEFGHJKMN',
    amount: 8888n,
    currency: 'CNY',
    subject: '测试商品',
    description: 'ignored',
    attach: 'k=v&x=测',
    expireAt: new Date('2024-01-01T02:15:00Z'),
    clientIp: '',
    payerId: '',
    returnUrl: 'https://shop.example/back?o=1',
  };
  const account = { notifyBaseUrl: 'https://pay.example/' } as AlipayAccount;

  it('builds biz_content per pay way: yuan amount, Beijing time_expire, encoded passback_params', () => {
    const common = {
      out_trade_no: 'A20240101020000ABCDEFGHJKMN',
      total_amount: '88.88',
      subject: '测试商品',
      time_expire: '2024-01-01 10:15:00',
      passback_params: 'k%3Dv%26x%3D%E6%B5%8B',
    };
    expect(payBizContent(trade, 'app')).toEqual({ ...common, product_code: 'QUICK_MSECURITY_PAY' });
    expect(payBizContent(trade, 'wap')).toEqual({ ...common, product_code: 'QUICK_WAP_WAY', quit_url: trade.returnUrl });
    expect(payBizContent(trade, 'page')).toEqual({ ...common, product_code: 'FAST_INSTANT_TRADE_PAY' });
    expect(payBizContent(trade, 'qr')).toEqual({ ...common, product_code: 'FACE_TO_FACE_PAYMENT' });
  });

  it('never sends empty optional fields', () => {
    const bare = payBizContent({ ...trade, attach: '', returnUrl: '' }, 'wap');
    expect(Object.keys(bare)).toEqual(['out_trade_no', 'total_amount', 'subject', 'product_code', 'time_expire']);
    const refund: RefundSnapshot = {
      tenantId: 't',
      payNo: 'P1',
      attemptNo: 'A1',
      refundNo: 'R1',
      tradeAmount: 8888n,
      amount: 150n,
      currency: 'CNY',
      reason: '',
    };
    expect(refundBizContent(refund)).toEqual({ out_trade_no: 'A1', refund_amount: '1.50', out_request_no: 'R1' });
    expect(refundBizContent({ ...refund, reason: 'damaged' }).refund_reason).toBe('damaged');
  });

  it('builds the notify URL per terminal type', () => {
    expect(notifyUrl(account, 'tenant/1', 'qr')).toBe('https://pay.example/notify/alipay/tenant%2F1/qr');
    expect(notifyUrl({ notifyBaseUrl: 'http://127.0.0.1:9' } as AlipayAccount, 't1', 'app')).toBe(
      'http://127.0.0.1:9/notify/alipay/t1/app',
    );
  });

  it.each([
    [{ currency: 'USD' }, /CNY/],
    [{ amount: 0n }, /outside/],
    [{ amount: 10_000_000_001n }, /outside/],
    [{ attemptNo: 'A-1' }, /out_trade_no/],
    [{ attemptNo: 'A'.repeat(65) }, /out_trade_no/],
    [{ subject: '' }, /subject/],
    [{ expireAt: new Date(Number.NaN) }, /expireAt/],
  ])('refuses %j before anything is sent', (change, reason) => {
    expect(tradeProblem({ ...trade, ...change })).toMatch(reason);
  });

  it('accepts a sound trade', () => {
    expect(tradeProblem(trade)).toBeUndefined();
  });
});

describe('notify → verified notify', () => {
  const base = {
    notify_id: 'N1',
    app_id: '2021000000000001',
    seller_id: '2088000000000001',
    trade_no: 'T1',
    out_trade_no: 'A1',
    total_amount: '88.88',
    gmt_payment: '2024-01-01 10:00:00',
  };

  it.each([
    [{ trade_status: 'TRADE_SUCCESS' }, { kind: 'payment', status: { outcome: 'success', paidAmount: 8888n, channelTradeNo: 'T1' } }],
    [{ trade_status: 'TRADE_FINISHED' }, { kind: 'payment', status: { outcome: 'success', paidAmount: 8888n } }],
    [
      { trade_status: 'TRADE_CLOSED', gmt_payment: '' },
      { kind: 'payment', status: { outcome: 'fail', channelStatus: 'TRADE_CLOSED' } },
    ],
    [{ trade_status: 'TRADE_CLOSED' }, { kind: 'payment', status: { outcome: 'unknown' } }],
    [
      { trade_status: 'WAIT_BUYER_PAY', gmt_payment: '' },
      { kind: 'payment', status: { outcome: 'pending' } },
    ],
    [
      { trade_status: 'TRADE_SUCCESS', out_biz_no: 'R1', refund_fee: '10.00', gmt_refund: '2024-01-02 10:00:00.123' },
      { kind: 'refund', refundNo: 'R1', status: { outcome: 'unknown', channelStatus: 'REFUND_NOTIFY' } },
    ],
    [
      { trade_status: 'TRADE_CLOSED', out_biz_no: 'R2', refund_fee: '88.88', gmt_refund: '2024-01-02 10:00:00.123' },
      { kind: 'refund', refundNo: 'R2', status: { outcome: 'unknown' } },
    ],
  ])('%j → %j', (fields, expected) => {
    const r = toChannelNotify({ ...base, ...fields });
    if ('invalid' in r) throw new Error(r.invalid);
    expect(r.notify).toMatchObject({ ...expected, notifyId: 'N1', attemptNo: 'A1' });
    expect(r.identity).toEqual({ outTradeNo: 'A1', appId: '2021000000000001', merchantId: '2088000000000001' });
    if (r.notify.kind === 'refund') expect(r.notify.amount).toBeUndefined(); // refund_fee is cumulative
  });

  it.each([
    [{ trade_status: 'TRADE_SUCCESS', total_amount: '88.888' }, /total_amount/],
    [{ trade_status: 'TRADE_SUCCESS', notify_id: '' }, /notify_id/],
    [{ trade_status: 'TRADE_SUCCESS', out_biz_no: 'R1' }, /out_biz_no without refund fields/],
    [{}, /trade_status/],
  ])('refuses %j', (fields, reason) => {
    const r = toChannelNotify({ ...base, ...fields });
    expect('invalid' in r && r.invalid).toMatch(reason);
  });

  it('acks with exactly `success`, and makes Alipay retry otherwise', () => {
    expect(alipayAck(true)).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
    expect(alipayAck(false)).toEqual({ status: 500, contentType: 'text/plain', body: 'fail' });
  });
});
