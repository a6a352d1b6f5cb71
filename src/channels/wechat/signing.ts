import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { Formatter } from 'wechatpay-axios-plugin';
import type { NotifyResource } from './wire';

/**
 * WeChat Pay v3 signatures (SHA256withRSA, base64) and notify resource encryption (AEAD_AES_256_GCM).
 * Pure functions of their inputs: shared by the handlers, the sandbox and the golden-vector tests.
 */
export const AUTH_SCHEME = 'WECHATPAY2-SHA256-RSA2048';
export const TIMESTAMP_TOLERANCE_SECONDS = 300;
/** The prefix WeChat Pay's deliberate bad signatures carry; they must simply fail verification. */
export const SIGNTEST_PREFIX = 'WECHATPAY/SIGNTEST/';

export type PemOrKey = string | KeyObject;

/** Request message: method, canonical URL (path + query as sent), timestamp, nonce, body; each line ends in \n. */
export function requestMessage(method: string, url: string, timestamp: string, nonce: string, body: string): string {
  return `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** Response and notify message over the raw body bytes; an empty body (204) leaves just the final \n. */
export function responseMessage(timestamp: string, nonce: string, body: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), Buffer.from(body), Buffer.from('\n')]);
}

/**
 * PEM text parsed once per key: parsing costs ~0.2 ms, ten times the RSA verify itself (npm run bench, notify
 * rows). Keys are few (one pair per merchant), so the cache is small; it is dropped whole if it ever grows.
 */
const parsedKeys = new Map<string, KeyObject>();
function keyObject(key: PemOrKey, kind: 'public' | 'private'): KeyObject {
  if (typeof key !== 'string') return key;
  let parsed = parsedKeys.get(key);
  if (!parsed) {
    if (parsedKeys.size >= 1000) parsedKeys.clear();
    parsed = kind === 'public' ? createPublicKey(key) : createPrivateKey(key);
    parsedKeys.set(key, parsed);
  }
  return parsed;
}

export function sign(message: string | Buffer, privateKey: PemOrKey): string {
  return createSign('RSA-SHA256').update(message).sign(keyObject(privateKey, 'private'), 'base64');
}

/** False for anything that does not verify, including malformed signatures and SIGNTEST probes. */
export function verify(message: string | Buffer, signature: string, publicKey: PemOrKey): boolean {
  try {
    return createVerify('RSA-SHA256').update(message).verify(keyObject(publicKey, 'public'), signature, 'base64');
  } catch {
    return false;
  }
}

export interface AuthorizationParams {
  mchid: string;
  serial_no: string;
  timestamp: string;
  nonce_str: string;
  signature: string;
}

/** The Authorization header value, pairs in wechatpay-axios-plugin's order (the server accepts any order). */
export function authorizationHeader(p: AuthorizationParams): string {
  return Formatter.authorization(p.mchid, p.nonce_str, p.signature, p.timestamp, p.serial_no);
}

/** `WECHATPAY2-SHA256-RSA2048 k="v",k="v"…` in any order → the pairs; undefined if malformed or incomplete. */
export function parseAuthorization(header: string | undefined): AuthorizationParams | undefined {
  if (!header?.startsWith(`${AUTH_SCHEME} `)) return undefined;
  const pairs = new Map<string, string>();
  for (const part of header.slice(AUTH_SCHEME.length + 1).split(',')) {
    const m = /^\s*([a-z_]+)="([^"]*)"\s*$/.exec(part);
    if (!m || pairs.has(m[1])) return undefined;
    pairs.set(m[1], m[2]);
  }
  const get = (k: keyof AuthorizationParams) => pairs.get(k);
  const [mchid, serial_no, timestamp, nonce_str, signature] = [
    get('mchid'),
    get('serial_no'),
    get('timestamp'),
    get('nonce_str'),
    get('signature'),
  ];
  if (!mchid || !serial_no || !timestamp || !nonce_str || !signature) return undefined;
  return { mchid, serial_no, timestamp, nonce_str, signature };
}

/** App (OpenSDK PayReq) parameters; the 4th signed line is the bare prepayid, not the package. */
export function appPayParams(
  p: { appId: string; mchId: string; prepayId: string; timestamp: string; nonce: string },
  merchantPrivateKey: PemOrKey,
): Record<string, string> {
  const message = Formatter.joinedByLineFeed(p.appId, p.timestamp, p.nonce, p.prepayId);
  return {
    appid: p.appId,
    partnerid: p.mchId,
    prepayid: p.prepayId,
    package: 'Sign=WXPay',
    noncestr: p.nonce,
    timestamp: p.timestamp,
    sign: sign(message, merchantPrivateKey),
  };
}

/** JSAPI / mini-program (getBrandWCPayRequest, wx.requestPayment) parameters. */
export function jsapiPayParams(
  p: { appId: string; prepayId: string; timestamp: string; nonce: string },
  merchantPrivateKey: PemOrKey,
): Record<string, string> {
  const pkg = `prepay_id=${p.prepayId}`;
  const message = Formatter.joinedByLineFeed(p.appId, p.timestamp, p.nonce, pkg);
  return {
    appId: p.appId,
    timeStamp: p.timestamp,
    nonceStr: p.nonce,
    package: pkg,
    signType: 'RSA',
    paySign: sign(message, merchantPrivateKey),
  };
}

const GCM_TAG_BYTES = 16;

function aesKey(apiV3Key: string): Buffer {
  const key = Buffer.from(apiV3Key, 'utf8');
  if (key.length !== 32) throw new Error('the APIv3 key must be 32 bytes');
  return key;
}

/** AEAD_AES_256_GCM: key = the APIv3 key's bytes, iv = utf8(nonce), aad = utf8(associated_data), tag appended. */
export function decryptResource(r: Pick<NotifyResource, 'ciphertext' | 'nonce' | 'associated_data'>, apiV3Key: string): string {
  const buf = Buffer.from(r.ciphertext, 'base64');
  if (buf.length <= GCM_TAG_BYTES) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', aesKey(apiV3Key), Buffer.from(r.nonce, 'utf8'));
  decipher.setAAD(Buffer.from(r.associated_data ?? '', 'utf8'));
  decipher.setAuthTag(buf.subarray(buf.length - GCM_TAG_BYTES));
  const plaintext = Buffer.concat([decipher.update(buf.subarray(0, buf.length - GCM_TAG_BYTES)), decipher.final()]);
  return plaintext.toString('utf8');
}

export function encryptResource(plaintext: string, apiV3Key: string, nonce: string, associatedData: string): string {
  const cipher = createCipheriv('aes-256-gcm', aesKey(apiV3Key), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  return Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

const NONCE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 32 random characters from [0-9A-Za-z], without modulo bias. */
export function randomNonce(length = 32): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length)) if (b < 248 && out.length < length) out += NONCE_ALPHABET[b % 62];
  }
  return out;
}
