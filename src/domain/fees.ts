/**
 * What a tenant pays the channel for a payment, in integer fen only (bigint; no float ever touches a fee):
 *
 *   fee = max(minFee, roundHalfUp(amount × rateBps / 10000)), never more than the amount;  net = amount − fee
 *
 * Half up: a remainder of at least half a fen rounds up (150 fen at 60 bps is 0.9 fen → 1; 50 fen is 0.3 → 0),
 * as Alipay and WeChat Pay round their service fees.
 *
 * Refunds return the fee in proportion, cumulatively: once refunds totalling R of a payment A have succeeded,
 * the fee returned so far is floor(fee × R / A). A refund's own fee is that total after it minus the total before
 * it. Floor keeps every partial total at or under the proportional share, the totals only grow with R, and at
 * R = A the total is the fee exactly: refunded fees never sum to more than the fee, and a full refund (in any
 * number of parts) returns all of it.
 */
export interface FeeRule {
  /** Basis points of the amount, 0-10000 (1 = 0.01 %). */
  rateBps: number;
  /** The least fee of a payment, fen. */
  minFee: bigint;
}

export const MAX_FEE_RATE_BPS = 10_000;
export const MAX_MIN_FEE = 100_000_000n;

export interface Fee {
  fee: bigint;
  net: bigint;
}

/** The fee and net amount of a payment of `amount` fen under `rule`. */
export function feeOf(amount: bigint, rule: FeeRule): Fee {
  const scaled = amount * BigInt(rule.rateBps);
  const rounded = (scaled + 5_000n) / 10_000n; // half up: amounts are never negative
  const floored = rounded < rule.minFee ? rule.minFee : rounded;
  const fee = floored > amount ? amount : floored;
  return { fee, net: amount - fee };
}

/**
 * The fee a refund returns: of a payment of `amount` fen that paid `fee`, when `refundedBefore` fen were refunded
 * by earlier successful refunds and this one refunds `refundAmount` more.
 */
export function refundFeeOf(amount: bigint, fee: bigint, refundedBefore: bigint, refundAmount: bigint): bigint {
  if (amount <= 0n) return 0n;
  const after = refundedBefore + refundAmount;
  const cap = (r: bigint) => (r >= amount ? fee : (fee * r) / amount);
  return cap(after) - cap(refundedBefore);
}
