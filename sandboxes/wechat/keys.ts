import { randomBytes } from 'node:crypto';
import { randomDigits, rsaKeyPair } from '../kit/keys';

/** Key material for a sandbox merchant and the sandbox platform. Test and dev only, never production. */
export interface WechatSandboxKeys {
  /** Merchant API key pair: the handler signs requests and pay params, the sandbox verifies. */
  merchantPrivateKey: string;
  merchantPublicKey: string;
  /** 40 hex characters, as a merchant API certificate serial. */
  merchantSerial: string;
  /** "WeChat Pay public key" pair: the sandbox signs responses and notifies, the handler verifies. */
  platformPrivateKey: string;
  platformPublicKey: string;
  /** PUB_KEY_ID_…, sent as Wechatpay-Serial. */
  platformPublicKeyId: string;
  /** 32 ASCII characters: the AES-256-GCM key of notify resources. */
  apiV3Key: string;
}

/** Fresh RSA-2048 PEMs (PKCS#8 / SPKI), a merchant serial, a public key id and an APIv3 key. ~100–300 ms. */
export function generateWechatSandboxKeys(): WechatSandboxKeys {
  const merchant = rsaKeyPair();
  const platform = rsaKeyPair();
  return {
    merchantPrivateKey: merchant.privateKey,
    merchantPublicKey: merchant.publicKey,
    merchantSerial: randomBytes(20).toString('hex').toUpperCase(),
    platformPrivateKey: platform.privateKey,
    platformPublicKey: platform.publicKey,
    platformPublicKeyId: `PUB_KEY_ID_01${randomDigits(26)}`,
    apiV3Key: randomBytes(16).toString('hex'),
  };
}
