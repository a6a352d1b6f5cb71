import { generateKeyPairSync } from 'node:crypto';

export interface AlipayKeyPair {
  /** PKCS#8 PEM. */
  privateKey: string;
  /** SPKI PEM. */
  publicKey: string;
}

/**
 * A fresh RSA-2048 pair, as Alipay's key tool makes them: one for the sandbox's "Alipay" (it signs responses
 * and notifies, accounts verify with the public half) and one per merchant app (it signs requests). ~100 ms.
 */
export function generateAlipaySandboxKeys(): AlipayKeyPair {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}
