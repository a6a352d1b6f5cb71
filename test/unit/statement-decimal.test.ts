import { parseStatementTime } from '../../src/reconcile/cells';
import { formatFen, formatMilliFen, parseCount, parseFen, parseMilliFen } from '../../src/reconcile/decimal';

describe('statement money and time cells', () => {
  it.each([
    ['88.88', 8888n],
    ['1', 100n],
    ['1.5', 150n],
    ['0.01', 1n],
    ['-10.00', -1000n],
    ['-0.00', 0n],
    ['100000000.00', 10_000_000_000n],
    ['999999999999999.99', 99_999_999_999_999_999n],
  ])('When a yuan amount is %s, then it is %p fen, exactly', (text, fen) => {
    expect(parseFen(text)).toBe(fen);
  });

  it.each([
    '88.888',
    '1e2',
    '8.888e1',
    ' 1.00',
    '1.00 ',
    '+1.00',
    '1,000.00',
    '.5',
    '5.',
    '',
    '`1.00',
    '0x10',
    'NaN',
    '1000000000000000.00',
    '=1+1',
  ])('When a yuan amount is %p, then it is refused (undefined), never a zero', (text) => {
    expect(parseFen(text)).toBeUndefined();
  });

  it.each([
    ['0.01000', 1000n],
    ['0.53000', 53_000n],
    ['0.00001', 1n],
    ['-0.53', -53_000n],
    ['0.0', 0n],
  ])('When a fee is %s yuan, then it is %p milli-fen, exactly (no rounding)', (text, milli) => {
    expect(parseMilliFen(text)).toBe(milli);
  });

  it('When a fee has 6 decimals, then it is refused', () => {
    expect(parseMilliFen('0.000001')).toBeUndefined();
  });

  it.each([
    ['45', 45],
    ['45.0', 45],
    ['0', 0],
  ])('When a count is %s, then it is %i', (text, count) => {
    expect(parseCount(text)).toBe(count);
  });

  it.each(['45.5', '-1', '', '4 5'])('When a count is %p, then it is refused', (text) => {
    expect(parseCount(text)).toBeUndefined();
  });

  it('When amounts are written back, then they keep 2 (fen) or 5 (fee) decimals and their sign', () => {
    expect([formatFen(8888n), formatFen(-1000n), formatFen(5n), formatFen(0n)]).toEqual(['88.88', '-10.00', '0.05', '0.00']);
    expect([formatMilliFen(53_000n), formatMilliFen(-1n), formatMilliFen(53_000n, 2)]).toEqual(['0.53000', '-0.00001', '0.53']);
    expect(() => formatMilliFen(1n, 2)).toThrow(RangeError);
  });

  it('When a statement time is read, then it is Beijing time made UTC, and impossible dates are refused', () => {
    expect(parseStatementTime('2026-11-29 10:00:09')).toEqual(new Date('2026-11-29T02:00:09Z'));
    expect(parseStatementTime('2026-11-30 07:59:59')).toEqual(new Date('2026-11-29T23:59:59Z'));
    for (const bad of [
      '2026-11-31 10:00:00',
      '2026-02-29 00:00:00',
      '2026-11-29 24:00:00',
      '2026-11-29T10:00:09',
      '0099-01-01 00:00:00',
      '2026-11-29 10:00',
    ])
      expect(parseStatementTime(bad)).toBeUndefined();
  });
});
