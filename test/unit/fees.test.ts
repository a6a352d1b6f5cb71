import fc from 'fast-check';
import { feeOf, refundFeeOf, type FeeRule } from '../../src/domain/fees';

/*
 * Issue 14 §3: a payment's fee (basis points, a minimum, half-up to the fen) and its proportional return on
 * refunds, integer arithmetic only. fast-check is in node_modules as a dependency of `effect` (from prisma), not a
 * direct devDependency yet; it prints its seed on a failure, so a counterexample replays.
 */

const rule = (rateBps: number, minFee = 0n): FeeRule => ({ rateBps, minFee });

describe('feeOf', () => {
  it.each([
    // [amount, rateBps, minFee, fee]
    [10000n, 60, 0n, 60n], // 0.6 % of 100.00 yuan
    [150n, 60, 0n, 1n], // 0.9 fen rounds up
    [50n, 60, 0n, 0n], // 0.3 fen rounds down
    [250n, 20, 0n, 1n], // 0.5 fen exactly: half up
    [249n, 20, 0n, 0n], // 0.498 fen
    [50n, 60, 10n, 10n], // the minimum applies
    [5n, 60, 10n, 5n], // never more than the amount
    [10_000_000_000n, 10000, 0n, 10_000_000_000n], // 100 %: the whole amount, no precision lost
    [12345n, 0, 0n, 0n],
  ])('When %p fen is paid at %p bps with a minimum of %p, then the fee is %p and net the rest', (amount, bps, min, fee) => {
    expect(feeOf(amount, rule(bps, min))).toEqual({ fee, net: amount - fee });
  });

  it('When any amount is paid under any rule, then 0 <= fee <= amount, net = amount - fee, and fee is within half a fen of the rate (or the minimum)', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, 10_000_000_000n), fc.integer({ min: 0, max: 10000 }), fc.bigInt(0n, 100_000_000n), (amount, bps, min) => {
        const { fee, net } = feeOf(amount, rule(bps, min));
        expect(fee >= 0n && fee <= amount && net === amount - fee).toBe(true);
        const exact2 = 2n * amount * BigInt(bps); // twice the exact fee, in 1/10000 fen
        const byRate = fee * 20000n; // the fee in the same unit
        if (fee > min && fee < amount) expect(byRate >= exact2 - 10000n && byRate <= exact2 + 10000n).toBe(true);
      }),
    );
  });
});

describe('refundFeeOf', () => {
  it('When 100.00 yuan with a fee of 60 fen is refunded in three parts, then each returns its floor share and the last the rest', () => {
    const shares = [3333n, 3333n, 3334n].reduce<{ before: bigint; fees: bigint[] }>(
      (acc, part) => ({ before: acc.before + part, fees: [...acc.fees, refundFeeOf(10000n, 60n, acc.before, part)] }),
      { before: 0n, fees: [] },
    ).fees;
    expect(shares).toEqual([19n, 20n, 21n]);
  });

  it('When a payment is refunded in any sequence of partial refunds, then the refunded fees never sum to more than its fee, each is >= 0, and a full refund returns all of it', () => {
    const payment = fc
      .record({ amount: fc.bigInt(1n, 10_000_000_000n), bps: fc.integer({ min: 0, max: 10000 }), min: fc.bigInt(0n, 100_000n) })
      .chain(({ amount, bps, min }) =>
        fc.record({
          amount: fc.constant(amount),
          fee: fc.constant(feeOf(amount, rule(bps, min)).fee),
          // Weights of up to 12 refunds; scaled below so they never exceed the amount.
          parts: fc.array(fc.bigInt(1n, 1_000_000n), { minLength: 1, maxLength: 12 }),
          full: fc.boolean(),
        }),
      );
    fc.assert(
      fc.property(payment, ({ amount, fee, parts, full }) => {
        const total = parts.reduce((a, b) => a + b, 0n);
        let refunded = 0n;
        let returned = 0n;
        for (const weight of parts) {
          const part = (amount * weight) / total;
          if (part === 0n) continue;
          const share = refundFeeOf(amount, fee, refunded, part);
          expect(share >= 0n).toBe(true);
          refunded += part;
          returned += share;
          expect(returned <= fee).toBe(true);
        }
        if (full && refunded < amount) returned += refundFeeOf(amount, fee, refunded, amount - refunded);
        if (full) expect(returned).toBe(fee);
        else expect(returned <= fee).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
