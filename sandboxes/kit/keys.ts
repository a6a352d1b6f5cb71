import { generateKeyPairSync, randomInt } from 'node:crypto';

export interface RsaKeyPair {
  /** PKCS#8 PEM. */
  privateKey: string;
  /** SPKI PEM. */
  publicKey: string;
}

/** A fresh RSA-2048 pair, as the channels' key tools make them. ~100 ms. Test and dev keys only. */
export function rsaKeyPair(): RsaKeyPair {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** `n` random decimal digits, for channel-style trade and refund numbers. */
export function randomDigits(n: number): string {
  return Array.from({ length: n }, () => randomInt(10)).join('');
}
