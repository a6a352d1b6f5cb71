/**
 * Alipay speaks yuan as decimal strings ("88.88"); we speak bigint fen. Conversion is done on digits only,
 * never through a float, and anything that is not a plain non-negative decimal with at most two places is refused.
 */
const YUAN = /^\d+(\.\d{1,2})?$/;

/** Alipay's limits for one trade: 0.01 to 100,000,000.00 yuan. */
export const MIN_TRADE_FEN = 1n;
export const MAX_TRADE_FEN = 10_000_000_000n;

export function isYuan(text: string): boolean {
  return YUAN.test(text);
}

/** "88.88" → 8888n, "1" → 100n, "1.5" → 150n. Throws RangeError on anything else (signs, exponents, spaces…). */
export function yuanToFen(yuan: string): bigint {
  if (typeof yuan !== 'string' || !YUAN.test(yuan)) {
    throw new RangeError(`not a yuan amount: ${typeof yuan === 'string' ? JSON.stringify(yuan.slice(0, 40)) : typeof yuan}`);
  }
  const [whole, fraction = ''] = yuan.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}

/** 8888n → "88.88", 5n → "0.05", 100n → "1.00". Throws RangeError on a negative amount. */
export function fenToYuan(fen: bigint): string {
  if (typeof fen !== 'bigint' || fen < 0n) throw new RangeError(`not a fen amount: ${String(fen)}`);
  return `${fen / 100n}.${(fen % 100n).toString().padStart(2, '0')}`;
}

/** Whether Alipay accepts this as a trade or refund amount. */
export function isTradeAmount(fen: bigint): boolean {
  return fen >= MIN_TRADE_FEN && fen <= MAX_TRADE_FEN;
}
