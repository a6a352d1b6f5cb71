import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

/**
 * Random bytes drawn from one buffer refilled a few KB at a time: a CSPRNG call per number (randomBytes) cost
 * more than the rest of CreateOrder's own code. Each byte is used once; only its low 5 bits become a character.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomPart(length: number): string {
  if (used + length > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let out = '';
  for (let i = used, end = used + length; i < end; i++) out += ALPHABET[pool[i] & 31];
  used += length;
  return out;
}

/** yyyyMMddHHmmss in UTC; the last second's text is kept, as numbers are issued many times a second. */
let stampedSecond = NaN;
let stampedText = '';
function stamp(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== stampedSecond) {
    stampedSecond = second;
    stampedText = now
      .toISOString()
      .replace(/[-:TZ.]/g, '')
      .slice(0, 14);
  }
  return stampedText;
}

/**
 * Globally unique, time-ordered-ish numbers made without coordination, so any number of instances can issue
 * them: a one-letter kind, a UTC second stamp and 12 random base32 characters (60 bits). 27 characters fit
 * WeChat's 32-character out_trade_no and Alipay's 64, and are never all digits (safe as BullMQ job ids).
 */
export const newPayNo = (now = new Date()): string => `P${stamp(now)}${randomPart(12)}`;
export const newAttemptNo = (now = new Date()): string => `A${stamp(now)}${randomPart(12)}`;
export const newRefundNo = (now = new Date()): string => `R${stamp(now)}${randomPart(12)}`;
