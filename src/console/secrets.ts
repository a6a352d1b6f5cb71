/**
 * What the console shows of a notify: its body and headers with every value whose name says secret, signature,
 * key, token or password replaced. Bodies are form-encoded (Alipay), JSON (WeChat Pay v3, the mock) or anything
 * else (shown as received: a body nobody could parse carries no named field to hide).
 */
const SECRET_NAME = /^sign$|signature|secret|private|key$|token|passw|^authorization$|^cookie$/i;
export const HIDDEN = '«hidden»';

export function maskedHeaders(headers: unknown): [string, string][] {
  if (!headers || typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k, SECRET_NAME.test(k) ? HIDDEN : String(v)]);
}

export function maskedBody(raw: string): string {
  const text = raw.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.stringify(maskJson(JSON.parse(text)), null, 2);
    } catch {
      return raw; // cut short (a rejected notify keeps only its first bytes): shown as received
    }
  }
  if (/^[^=&\s]+=[^\s]*$/.test(text)) {
    return [...new URLSearchParams(text)].map(([k, v]) => `${k}=${SECRET_NAME.test(k) ? HIDDEN : v}`).join('\n');
  }
  return raw;
}

function maskJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(maskJson);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, SECRET_NAME.test(k) ? HIDDEN : maskJson(x)]),
    );
  }
  return v;
}
