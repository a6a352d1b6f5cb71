import { closeRecord, notifyRecord, prepayRecord, queryRecord, refundRecord } from '../../src/app/channel-records';
import type { RefundSnapshot, TradeSnapshot } from '../../src/channels/types';
import { CHANNEL_RECORD_VALUE_CHARS } from '../../src/domain/channel-record';

const trade: TradeSnapshot = {
  tenantId: 't1',
  payNo: 'P1',
  attemptNo: 'A1',
  amount: 8888n,
  currency: 'CNY',
  subject: 'goods',
  description: '',
  attach: 'secret-looking attach',
  expireAt: new Date('2026-01-01T00:00:00Z'),
  clientIp: '10.0.0.1',
  payerId: 'o-requested-openid',
  returnUrl: 'https://shop.example/back',
};
const refund: RefundSnapshot = {
  tenantId: 't1',
  payNo: 'P1',
  attemptNo: 'A1',
  refundNo: 'R1',
  tradeAmount: 8888n,
  amount: 1000n,
  currency: 'CNY',
  reason: 'damaged',
};

describe('channel records', () => {
  it('keeps our key fields sent and only the payload kind of a prepay, never its signed value or the request extras', () => {
    const r = prepayRecord(trade, {
      outcome: 'success',
      payload: { kind: 'appOrderString', value: 'app_id=1&sign=SIGNATURE' },
      said: { endpoint: 'alipay.trade.app.pay' },
    });
    expect(r).toMatchObject({
      operation: 'prepay',
      endpoint: 'alipay.trade.app.pay',
      sent: { out_trade_no: 'A1', amount: '8888', currency: 'CNY' },
      answer: { outcome: 'success', payload_kind: 'appOrderString' },
    });
    expect(JSON.stringify(r)).not.toMatch(/SIGNATURE|attach|10\.0\.0\.1|o-requested-openid|shop\.example/);
  });

  it("writes the channel's code, sub_code and words, falling back to our reason when it said none", () => {
    const refused = closeRecord(trade, {
      outcome: 'closed',
      said: { endpoint: 'alipay.trade.close', code: '40004', subCode: 'ACQ.TRADE_NOT_EXIST', message: 'Business Failed' },
    });
    expect(refused.answer).toEqual({ outcome: 'closed', code: '40004', sub_code: 'ACQ.TRADE_NOT_EXIST', message: 'Business Failed' });
    const silent = queryRecord(trade, { outcome: 'unknown', channelStatus: '', reason: 'no answer in time' });
    expect(silent).toMatchObject({ endpoint: '', answer: { outcome: 'unknown', message: 'no answer in time' } });
  });

  it('records a paid answer with the amount, time and payer amount the channel gave, and cuts every value short', () => {
    const long = 'x'.repeat(1000);
    const r = queryRecord(trade, {
      outcome: 'success',
      channelStatus: 'SUCCESS',
      channelTradeNo: '4200',
      paidAmount: 8888n,
      paidAt: new Date('2026-01-01T01:02:03Z'),
      payerChannelId: 'o-openid',
      said: { endpoint: 'GET /v3/x', httpStatus: 200, message: long, payerAmount: 8800n },
    });
    expect(r.answer).toEqual({
      outcome: 'success',
      status: 'SUCCESS',
      trade_no: '4200',
      paid_amount: '8888',
      paid_at: '2026-01-01T01:02:03.000Z',
      http_status: '200',
      message: 'x'.repeat(CHANNEL_RECORD_VALUE_CHARS),
      payer_amount: '8800',
    });
  });

  it('records a refund answer and a refund notify with their refund ids', () => {
    const sent = refundRecord('refund', refund, { outcome: 'pending', channelStatus: 'PROCESSING', channelRefundNo: '50R' });
    expect(sent).toMatchObject({
      operation: 'refund',
      sent: { out_trade_no: 'A1', out_refund_no: 'R1', amount: '1000', currency: 'CNY' },
      answer: { outcome: 'pending', status: 'PROCESSING', refund_id: '50R' },
    });
    const notify = notifyRecord({
      kind: 'refund',
      notifyId: 'N1',
      attemptNo: 'A1',
      refundNo: 'R1',
      status: { outcome: 'success', channelStatus: 'SUCCESS', channelRefundNo: '50R' },
      amount: 1000n,
    });
    expect(notify).toMatchObject({
      operation: 'notify',
      endpoint: '',
      sent: {},
      answer: { notify_id: 'N1', outcome: 'success', status: 'SUCCESS', refund_id: '50R', amount: '1000' },
    });
  });
});
