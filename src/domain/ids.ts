import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

function randomPart(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14); // yyyyMMddHHmmss, UTC
}

/**
 * Globally unique, time-ordered-ish numbers made without coordination, so any number of instances can issue
 * them: a one-letter kind, a UTC second stamp and 12 random base32 characters (60 bits). 27 characters fit
 * WeChat's 32-character out_trade_no and Alipay's 64, and are never all digits (safe as BullMQ job ids).
 */
export const newPayNo = (now = new Date()): string => `P${stamp(now)}${randomPart(12)}`;
export const newAttemptNo = (now = new Date()): string => `A${stamp(now)}${randomPart(12)}`;
export const newRefundNo = (now = new Date()): string => `R${stamp(now)}${randomPart(12)}`;
