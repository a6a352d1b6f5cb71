import { alipaySignContent, responseKey, rsa2Sign, rsa2Verify } from '../../src/channels/alipay/signing';
import { parseBeijingTime } from '../../src/channels/alipay/time';
import { AlipayRejection } from './rejection';

/** A merchant app registered with the sandbox: requests under its app_id must verify with its public key. */
export interface SandboxApp {
  appId: string;
  /** PEM (SPKI or PKCS#1) or bare base64. */
  appPublicKey: string;
  /** The merchant's seller id (2088…), reported in notifies. */
  sellerId: string;
}

/**
 * Query string and form body, merged (alipay-sdk sends common params in the query and biz_content in the body;
 * other clients post everything). A param given twice is refused rather than guessed at.
 */
export function mergeParams(...sources: unknown[]): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  for (const source of sources) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [key, value] of Object.entries(source)) {
      if (typeof value !== 'string' || Object.hasOwn(params, key)) {
        throw new AlipayRejection('40002', 'isv.invalid-parameter', `parameter ${key} is given more than once`);
      }
      params[key] = value;
    }
  }
  return params;
}

/**
 * The gateway's checks before any business logic: a known app, RSA2, utf-8, a well-formed timestamp, and a
 * request signature over every param but `sign` (sign_type kept, empty values dropped) under that app's key.
 */
export function authenticate(params: Record<string, string>, apps: ReadonlyMap<string, SandboxApp>): SandboxApp {
  const appId = params.app_id;
  if (!appId) throw new AlipayRejection('40001', 'isv.missing-app-id', 'app_id is missing');
  const app = apps.get(appId);
  if (!app) throw new AlipayRejection('40002', 'isv.invalid-app-id', `no app ${appId}`);
  if (!params.sign) throw new AlipayRejection('40001', 'isv.missing-signature', 'sign is missing');
  if (params.sign_type !== 'RSA2') throw new AlipayRejection('40002', 'isv.invalid-signature-type', 'sign_type must be RSA2');
  if (params.charset && params.charset.toLowerCase() !== 'utf-8') {
    throw new AlipayRejection('40002', 'isv.invalid-charset', `unsupported charset ${params.charset}`);
  }
  if (!parseBeijingTime(params.timestamp))
    throw new AlipayRejection('40002', 'isv.invalid-timestamp', 'timestamp is not yyyy-MM-dd HH:mm:ss');
  const content = alipaySignContent(params);
  if (!rsa2Verify(content, params.sign, app.appPublicKey)) {
    throw new AlipayRejection('40002', 'isv.invalid-signature', `signature does not verify; the gateway signed content is: ${content}`);
  }
  return app;
}

/** biz_content as an object; anything else is refused. */
export function bizContent(params: Record<string, string>): Record<string, unknown> {
  let biz: unknown;
  try {
    biz = JSON.parse(params.biz_content ?? '');
  } catch {
    throw new AlipayRejection('40002', 'isv.invalid-parameter', 'biz_content is not JSON');
  }
  if (typeof biz !== 'object' || biz === null || Array.isArray(biz)) {
    throw new AlipayRejection('40002', 'isv.invalid-parameter', 'biz_content is not a JSON object');
  }
  return biz as Record<string, unknown>;
}

/**
 * `{"<method>_response":<inner>,"sign":"…"}` with the signature over the inner text exactly as sent. Slashes are
 * escaped as the real gateway does (`https:\/\/…`), so a verifier that re-serialises instead of slicing fails.
 */
export function signedResponseText(method: string, inner: object, alipayPrivateKey: string, tamper = false): string {
  const innerText = JSON.stringify(inner).replaceAll('/', '\\/');
  const sign = rsa2Sign(tamper ? `${innerText} ` : innerText, alipayPrivateKey);
  const key = method ? responseKey(method) : 'error_response';
  return `{"${key}":${innerText},"sign":"${sign}"}`;
}

/** A notify or sync-return form, signed as Alipay signs them: over all fields but sign and sign_type. */
export function signForm(fields: Record<string, string>, alipayPrivateKey: string, tamper = false): Record<string, string> {
  const form = { ...fields, sign_type: 'RSA2' };
  const content = alipaySignContent(form, { dropSignType: true });
  return { ...form, sign: rsa2Sign(tamper ? `${content}&tampered=1` : content, alipayPrivateKey) };
}
