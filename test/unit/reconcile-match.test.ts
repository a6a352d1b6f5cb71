import { judgePayment, judgeRefund } from '../../src/app/reconcile/match';
import type { StatementLine } from '../../src/reconcile';
import type { AttemptFacts, RefundFacts } from '../../src/repo/reconciliation';

const line = (over: Partial<StatementLine> = {}): StatementLine => ({
  channel: 'wechat',
  kind: 'payment',
  outTradeNo: 'A1',
  channelTradeNo: '4200',
  amount: 10000n,
  settledAmount: 10000n,
  feeMilliFen: 60_000n,
  currency: 'CNY',
  status: 'SUCCESS',
  occurredAt: new Date('2026-11-29T02:00:00Z'),
  line: 7,
  ...over,
});
const attempt = (over: Partial<AttemptFacts> = {}): AttemptFacts => ({
  attemptNo: 'A1',
  payNo: 'P1',
  channel: 'wechat',
  status: 'SUCCESS',
  paidAmount: 10000n,
  fee: 60n,
  orderAmount: 10000n,
  ...over,
});
const refund = (over: Partial<RefundFacts> = {}): RefundFacts => ({
  refundNo: 'R1',
  payNo: 'P1',
  attemptNo: 'A1',
  status: 'SUCCESS',
  amount: 3000n,
  ...over,
});
const refundLine = (over: Partial<StatementLine> = {}) =>
  line({ kind: 'refund', outRefundNo: 'R1', amount: 3000n, feeMilliFen: -18_000n, ...over });

const kindOf = (v: ReturnType<typeof judgePayment>) => (v.kind === 'difference' ? v.difference.kind : v.kind);

describe('Reconciliation verdicts (pure)', () => {
  it.each([
    ['paid here, same amount and fee', 'matched', line(), attempt()],
    ['not paid here', 'applyPayment', line(), attempt({ status: 'OPEN', paidAmount: null })],
    ['closed here, paid at the channel', 'applyPayment', line(), attempt({ status: 'CLOSED', paidAmount: null })],
    ['not paid here, another amount', 'AMOUNT_MISMATCH', line({ amount: 10007n }), attempt({ status: 'OPEN' })],
    ['paid here, another amount', 'AMOUNT_MISMATCH', line({ amount: 9999n }), attempt()],
    ['no attempt of ours', 'UNKNOWN_TRADE', line(), undefined],
    ['an attempt of ours on another channel', 'UNKNOWN_TRADE', line(), attempt({ channel: 'alipay' })],
    ['a line that is no payment received', 'STATUS_MISMATCH', line({ status: 'REVOKED' }), attempt({ status: 'OPEN' })],
  ])('When a payment line is %s, then %s', (_, expected, l, a) => {
    expect(kindOf(judgePayment(l, a, 'wechat'))).toBe(expected);
  });

  it('When the fees differ by less than a fen, then the line matches; by a fen or more, then FEE_MISMATCH is reported', () => {
    expect(judgePayment(line({ feeMilliFen: 60_999n }), attempt(), 'wechat')).toEqual({ kind: 'matched', fee: undefined });
    expect(judgePayment(line({ feeMilliFen: 59_001n }), attempt(), 'wechat')).toEqual({ kind: 'matched', fee: undefined });
    const off = judgePayment(line({ feeMilliFen: 61_000n }), attempt(), 'wechat');
    expect(off).toMatchObject({
      kind: 'matched',
      fee: { kind: 'FEE_MISMATCH', resolution: 'REPORTED', statementFeeMilliFen: 61_000n, localFeeMilliFen: 60_000n, line: 7 },
    });
    // No fee in the books (a tenant without a fee rule): nothing to compare.
    expect(judgePayment(line({ feeMilliFen: 99_000n }), attempt({ fee: 0n }), 'wechat')).toEqual({ kind: 'matched', fee: undefined });
  });

  it.each([
    ['ours, SUCCESS, same amount', 'matched', refundLine(), refund()],
    ['ours, PENDING', 'applyRefund', refundLine(), refund({ status: 'PENDING' })],
    ['ours, PENDING, still PROCESSING at the channel', 'matched', refundLine({ status: 'PROCESSING' }), refund({ status: 'PENDING' })],
    ['ours, FAILED here', 'STATUS_MISMATCH', refundLine(), refund({ status: 'FAILED' })],
    ['ours, another amount', 'REFUND_AMOUNT_MISMATCH', refundLine({ amount: 3001n }), refund()],
    ['not ours', 'REFUND_UNKNOWN', refundLine(), undefined],
    ['ours by number, of another trade', 'REFUND_UNKNOWN', refundLine({ outTradeNo: 'A2' }), refund()],
  ])('When a refund line is %s, then %s', (_, expected, l, r) => {
    expect(kindOf(judgeRefund(l, r, attempt(), 'wechat'))).toBe(expected);
  });

  it('When an unknown refund is of our trade, then it names the order; of no trade of ours, then no order', () => {
    expect(judgeRefund(refundLine(), undefined, attempt(), 'wechat')).toMatchObject({
      difference: { kind: 'REFUND_UNKNOWN', payNo: 'P1', outRefundNo: 'R1' },
    });
    const stranger = judgeRefund(refundLine(), undefined, undefined, 'wechat');
    expect(stranger.kind === 'difference' && stranger.difference.payNo).toBeFalsy();
  });
});
