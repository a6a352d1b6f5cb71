import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import {
  parseAuthorization,
  randomNonce,
  requestMessage,
  responseMessage,
  sign,
  SIGNTEST_PREFIX,
  TIMESTAMP_TOLERANCE_SECONDS,
  verify,
} from '../../src/channels/wechat/signing';

/** What a merchant registers with the sandbox: its ids, its API public key and serial, its APIv3 key. */
export interface MerchantRegistration {
  mchId: string;
  appId: string;
  merchantSerial: string;
  merchantPublicKey: string;
  apiV3Key: string;
}

export interface SandboxMerchant {
  mchId: string;
  appId: string;
  apiV3Key: string;
}

/** Merchants by mchid; a second registration with another serial adds a key, as in a certificate rotation. */
export class MerchantRegistry {
  private readonly merchants = new Map<string, SandboxMerchant>();
  private readonly keys = new Map<string, KeyObject>();

  register(m: MerchantRegistration): void {
    if (Buffer.byteLength(m.apiV3Key, 'utf8') !== 32) throw new Error('apiV3Key must be 32 bytes');
    this.merchants.set(m.mchId, { mchId: m.mchId, appId: m.appId, apiV3Key: m.apiV3Key });
    this.keys.set(keyOf(m.mchId, m.merchantSerial), createPublicKey(m.merchantPublicKey));
  }

  get(mchId: string): SandboxMerchant | undefined {
    return this.merchants.get(mchId);
  }

  publicKey(mchId: string, serial: string): KeyObject | undefined {
    return this.keys.get(keyOf(mchId, serial.toUpperCase()));
  }
}

const keyOf = (mchId: string, serial: string) => `${mchId}\u0000${serial.toUpperCase()}`;

export type AuthCheck =
  | { ok: true; merchant: SandboxMerchant }
  | { ok: false; reason: string; signInformation?: { method: string; url: string; truncated_sign_message: string } };

/**
 * Checks `Authorization: WECHATPAY2-SHA256-RSA2048 …` the way WeChat does: pairs in any order, the key found
 * by mchid + serial_no, timestamp within 300 s, signature over method, URL as received, timestamp, nonce, body.
 */
export function verifyAuthorization(
  registry: MerchantRegistry,
  req: { method: string; originalUrl: string; authorization?: string; rawBody: Buffer },
  nowSeconds = Math.floor(Date.now() / 1000),
): AuthCheck {
  const auth = parseAuthorization(req.authorization);
  if (!auth) return { ok: false, reason: 'Authorization header missing or malformed' };
  const merchant = registry.get(auth.mchid);
  const key = registry.publicKey(auth.mchid, auth.serial_no);
  if (!merchant || !key) return { ok: false, reason: `unknown mchid ${auth.mchid} or serial_no ${auth.serial_no}` };
  const seconds = /^\d{1,12}$/.test(auth.timestamp) ? Number(auth.timestamp) : NaN;
  const fresh = Math.abs(nowSeconds - seconds) <= TIMESTAMP_TOLERANCE_SECONDS;
  if (!fresh) return { ok: false, reason: 'timestamp expired' };
  const body = req.rawBody.toString('utf8');
  const message = requestMessage(req.method, req.originalUrl, auth.timestamp, auth.nonce_str, body);
  if (verify(message, auth.signature, key)) return { ok: true, merchant };
  const signInformation = { method: req.method, url: req.originalUrl, truncated_sign_message: message.slice(0, 96) };
  return { ok: false, reason: 'sign not match', signInformation };
}

export interface SignOptions {
  timestamp?: number;
  serial?: string;
  /** Sign something other than the body, so the signature does not match. */
  tamper?: boolean;
  /** Send a WECHATPAY/SIGNTEST probe instead of a real signature. */
  signTest?: boolean;
}

/** The sandbox's "WeChat Pay public key" private half: signs responses and notifies. */
export class PlatformSigner {
  private readonly key: KeyObject;

  constructor(
    privateKeyPem: string,
    readonly keyId: string,
  ) {
    this.key = createPrivateKey(privateKeyPem);
  }

  headers(body: string, opts: SignOptions = {}): Record<string, string> {
    const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
    const nonce = randomNonce();
    const signature = opts.signTest
      ? `${SIGNTEST_PREFIX}${randomBytes(192).toString('base64')}`
      : sign(responseMessage(timestamp, nonce, opts.tamper ? `${body} ` : body), this.key);
    return {
      'Request-ID': randomUUID(),
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': signature,
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Serial': opts.serial ?? this.keyId,
      'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048',
    };
  }
}
