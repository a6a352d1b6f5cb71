import { createSign, createVerify } from 'node:crypto';

/**
 * The RSA2 (SHA256withRSA) content rules of the classic gateway, shared by the handlers and the sandbox.
 * Requests sign every param but `sign` (keeping `sign_type`); notifies and sync returns also drop `sign_type`
 * (`dropSignType`). Empty values are left out, keys are sorted by code unit, values are raw (not URL-encoded).
 */
export function alipaySignContent(params: Readonly<Record<string, string | undefined>>, opts: { dropSignType?: boolean } = {}): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && !(opts.dropSignType && k === 'sign_type'))
    .filter((k) => k !== '' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function rsa2Sign(content: string, privateKeyPem: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKeyPem, 'base64');
}

/** False for a wrong signature, and for one that is not even well-formed; throws only on an unusable key. */
export function rsa2Verify(content: string, signature: string, publicKeyPem: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKeyPem, signature, 'base64');
}

/** `alipay.trade.query` → `alipay_trade_query_response`. */
export function responseKey(method: string): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * The exact text a response signature covers: the raw JSON object value of `"<method>_response"`, from its `{`
 * to the matching `}` (strings and escapes respected), as Alipay's Java SDK extracts it. Undefined when absent.
 */
export function responseSignContent(rawBody: string, key: string): string | undefined {
  const keyAt = rawBody.indexOf(`"${key}"`);
  if (keyAt < 0) return undefined;
  const start = rawBody.indexOf('{', keyAt + key.length + 2);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < rawBody.length; i += 1) {
    const c = rawBody[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth += 1;
    else if (c === '}' && --depth === 0) return rawBody.slice(start, i + 1);
  }
  return undefined;
}
