/**
 * Decimal text ⇄ bigint in a fixed unit, on digits only (never a float). Statements print yuan: amounts with 2
 * decimals (→ fen), WeChat's fee with 5 (→ milli-fen, 0.00001 yuan). At most 15 integer digits: anything longer
 * is no amount any channel prints, and is refused rather than carried.
 */
const DECIMAL = /^(-?)(\d{1,15})(?:\.(\d{1,12}))?$/;

/** `text` in units of 10^-places yuan, or undefined when it is not a plain decimal with at most `places` decimals. */
export function parseScaled(text: string, places: number): bigint | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = ''] = m;
  if (fraction.length > places) return undefined;
  // One BigInt of the digits with the point removed: "88.8" at 2 places is 8880.
  const value = BigInt(whole + fraction.padEnd(places, '0'));
  return sign ? -value : value;
}

/** Yuan with at most 2 decimals → fen. */
export const parseFen = (text: string): bigint | undefined => parseScaled(text, 2);
/** Yuan with at most 5 decimals → milli-fen (exact). */
export const parseMilliFen = (text: string): bigint | undefined => parseScaled(text, 5);

/** A count printed as a whole number, possibly with a zero fraction (WeChat writes `45.0`). */
export function parseCount(text: string): number | undefined {
  const m = /^(\d{1,12})(?:\.0+)?$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** `value` (units of 10^-places yuan) as yuan with `shown` decimals; throws if that would drop digits. */
export function formatScaled(value: bigint, places: number, shown = places): string {
  const unit = 10n ** BigInt(places);
  const abs = value < 0n ? -value : value;
  const fraction = (abs % unit).toString().padStart(places, '0');
  if (shown < places && /[^0]/.test(fraction.slice(shown))) throw new RangeError(`${value} has more than ${shown} decimals`);
  const digits = `${abs / unit}.${fraction.slice(0, shown).padEnd(shown, '0')}`;
  return value < 0n ? `-${digits}` : digits;
}

export const formatFen = (fen: bigint): string => formatScaled(fen, 2);
/** Milli-fen as yuan with `shown` decimals (5 for WeChat's fee, 2 for Alipay's). */
export const formatMilliFen = (milli: bigint, shown = 5): string => formatScaled(milli, 5, shown);
