import { rsaKeyPair, type RsaKeyPair } from '../kit/keys';

export type AlipayKeyPair = RsaKeyPair;

/**
 * A fresh RSA-2048 pair, as Alipay's key tool makes them: one for the sandbox's "Alipay" (it signs responses
 * and notifies, accounts verify with the public half) and one per merchant app (it signs requests). ~100 ms.
 */
export function generateAlipaySandboxKeys(): AlipayKeyPair {
  return rsaKeyPair();
}
