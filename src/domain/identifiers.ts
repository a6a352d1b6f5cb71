/**
 * What identifiers and free text may hold. Identifiers are compared byte for byte (every column is utf8mb4_bin),
 * so `a` and `A` name two things. That collation still ignores trailing spaces ('a' = 'a '), so no identifier
 * admits a space: one id never has two spellings. The README's identifier table lists these rules.
 */

/** tenant_id: also the tenant segment of notify URLs (/notify/<channel>/<tenant_id>/<terminal>). */
export const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The caller's own numbers: out_order_no, out_refund_no. */
export const CALLER_NO = /^[A-Za-z0-9_-]{1,64}$/;
/** Numbers this service issues (pay_no, attempt_no, refund_no): Crockford base32 capitals and digits. */
export const SERVICE_NO = /^[0-9A-Z]{1,32}$/;
/** event_id exactly as events carry it: a lowercase canonical UUID. */
export const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** notify_topic: a queue name. */
export const NOTIFY_TOPIC = /^[A-Za-z0-9._-]{1,255}$/;
/** user_id: optional; visible ASCII, no spaces (room for e-mail addresses and `provider|id` forms). */
export const USER_ID = /^[\x21-\x7e]{0,64}$/;
/** payer_id: optional; the payer's id at the channel (a WeChat openid, an Alipay user id). */
export const PAYER_ID = /^[A-Za-z0-9_-]{0,128}$/;
/** The terminal segment of notify URLs. */
export const TERMINAL_TYPE = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * What free text may not hold: control characters (C0 including NUL, TAB, LF and ESC; DEL; C1), the Unicode line
 * and paragraph separators, lone surrogates, and U+FFFD, which is what bytes that were not UTF-8 decode to.
 * Free text reaches channels, logs and cashier pages; none of these has a use there that a space does not serve.
 */
const FORBIDDEN_IN_TEXT = /[\p{Cc}\p{Cs}\u2028\u2029\ufffd]/u;

/** Why `text` is not acceptable free text, or undefined when it is. */
export function textProblem(text: string): string | undefined {
  const found = FORBIDDEN_IN_TEXT.exec(text);
  if (!found) return undefined;
  const code = found[0].codePointAt(0)!;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code === 0xfffd
    ? `must be valid UTF-8 (holds ${name}, which undecodable bytes become)`
    : `must not contain control characters, line separators or lone surrogates (holds ${name})`;
}
