import type { ChannelNotify } from '../channel-module';
import type { RawNotify } from '../types';
import type { WechatAccount } from './account';
import { decryptResource, responseMessage, SIGNTEST_PREFIX, TIMESTAMP_TOLERANCE_SECONDS, verify } from './signing';
import { toPaymentNotify, toRefundNotify } from './transformers';
import { notifyEnvelope, PAYMENT_EVENT, REFUND_EVENTS, refundResource, transaction } from './wire';

export const NOTIFY_HEADERS = {
  serial: 'wechatpay-serial',
  signature: 'wechatpay-signature',
  timestamp: 'wechatpay-timestamp',
  nonce: 'wechatpay-nonce',
} as const;

const ALGORITHM = 'AEAD_AES_256_GCM';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A WeChat Pay notify, from raw bytes to what it says: the serial must be the account's public key id, the
 * timestamp within 300 s, the signature valid over `ts\nnonce\nrawBody\n`; only then is the JSON read and
 * the resource decrypted with the APIv3 key. Every failure is `{ invalid }` with a short reason.
 */
export function verifyWechatNotify(raw: RawNotify, account: WechatAccount, nowSeconds = Math.floor(Date.now() / 1000)): ChannelNotify {
  const [serial, signature, timestamp, nonce] = [
    header(raw.headers, NOTIFY_HEADERS.serial),
    header(raw.headers, NOTIFY_HEADERS.signature),
    header(raw.headers, NOTIFY_HEADERS.timestamp),
    header(raw.headers, NOTIFY_HEADERS.nonce),
  ];
  if (!serial || !signature || !timestamp || !nonce) return { invalid: 'missing Wechatpay-* signature headers' };
  // Strict base64: Node's decoder stops at the first padding, so "sig, sig" (a repeated header joined) would pass.
  if (!BASE64.test(signature)) return { invalid: 'Wechatpay-Signature is not one base64 value' };
  if (serial !== account.platformPublicKeyId) return { invalid: `unknown Wechatpay-Serial ${serial.slice(0, 64)}` };
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
  if (!(Math.abs(nowSeconds - seconds) < TIMESTAMP_TOLERANCE_SECONDS)) {
    const tolerance = TIMESTAMP_TOLERANCE_SECONDS;
    return { invalid: `Wechatpay-Timestamp ${timestamp.slice(0, 20)} is not within ${tolerance} s of now` };
  }
  if (!verify(responseMessage(timestamp, nonce, raw.rawBody), signature, account.platformPublicKey)) {
    const probe = signature.startsWith(SIGNTEST_PREFIX);
    return { invalid: probe ? 'bad signature (WECHATPAY/SIGNTEST probe)' : 'bad signature' };
  }

  const envelope = notifyEnvelope.safeParse(parseJson(raw.rawBody.toString('utf8')));
  if (!envelope.success) return { invalid: 'unrecognised notify body' };
  const { id, event_type: eventType, resource } = envelope.data;
  if (resource.algorithm !== ALGORITHM) return { invalid: `unsupported resource algorithm ${resource.algorithm}` };
  let plaintext: string;
  try {
    plaintext = decryptResource(resource, account.apiV3Key);
  } catch {
    return { invalid: `cannot decrypt the resource of event ${id}` };
  }

  if (eventType === PAYMENT_EVENT) {
    const tx = transaction.safeParse(parseJson(plaintext));
    if (!tx.success) return { invalid: `unrecognised transaction in event ${id}` };
    return toPaymentNotify(id, tx.data);
  }
  if ((REFUND_EVENTS as readonly string[]).includes(eventType)) {
    const refund = refundResource.safeParse(parseJson(plaintext));
    if (!refund.success) return { invalid: `unrecognised refund in event ${id}` };
    return toRefundNotify(id, refund.data);
  }
  return { invalid: `unsupported event type ${eventType.slice(0, 64)}` };
}

function header(headers: Record<string, string | undefined>, lowerName: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === lowerName);
  return key === undefined ? undefined : headers[key];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
