import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';

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

const rsaPair = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

/** Fresh RSA-2048 PEMs (PKCS#8 / SPKI), a merchant serial, a public key id and an APIv3 key. ~100–300 ms. */
export function generateWechatSandboxKeys(): WechatSandboxKeys {
  const merchant = rsaPair();
  const platform = rsaPair();
  const digits = Array.from({ length: 26 }, () => randomInt(10)).join('');
  return {
    merchantPrivateKey: merchant.privateKey,
    merchantPublicKey: merchant.publicKey,
    merchantSerial: randomBytes(20).toString('hex').toUpperCase(),
    platformPrivateKey: platform.privateKey,
    platformPublicKey: platform.publicKey,
    platformPublicKeyId: `PUB_KEY_ID_01${digits}`,
    apiV3Key: randomBytes(16).toString('hex'),
  };
}
