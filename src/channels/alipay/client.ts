import { createHash } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import type { z } from 'zod';
import type { AlipayAccount } from './account';
import { AlipayNoAnswerError } from './errors';
import { normalizePrivateKey, normalizePublicKey } from './keys';
import { beijingTime } from './time';
import { commonAnswer, type CommonAnswer } from './wire';

/** A signed, verified answer: the business fields, or the channel's explicit error (code ≠ 10000). */
export type AlipayAnswer<T> = { ok: true; data: T } | { ok: false; error: CommonAnswer };

const MAX_CLIENTS = 512;

/**
 * One alipay-sdk client per account (app id, keys, gateway, timeout), built on first use. The key is a hash,
 * so no key material is kept twice. The cache is the handlers' only state and holds nothing per trade.
 */
export class AlipayClients {
  private readonly clients = new Map<string, AlipaySdk>();

  constructor(readonly timeoutMs: number) {}

  get(account: AlipayAccount): AlipaySdk {
    const id = createHash('sha256')
      .update([account.appId, account.gatewayUrl, account.appPrivateKey, account.alipayPublicKey].join('\0'))
      .digest('base64url');
    const hit = this.clients.get(id);
    if (hit) return hit;
    if (!account.alipayPublicKey) throw new Error('the Alipay account has no Alipay public key');
    const sdk = new AlipaySdk({
      appId: account.appId,
      privateKey: normalizePrivateKey(account.appPrivateKey),
      keyType: 'PKCS8',
      alipayPublicKey: normalizePublicKey(account.alipayPublicKey),
      gateway: account.gatewayUrl,
      signType: 'RSA2',
      camelcase: false,
      timeout: this.timeoutMs,
    });
    if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
    this.clients.set(id, sdk);
    return sdk;
  }
}

/** Common params we set ourselves: the SDK would stamp the process's local time, Alipay expects Beijing time. */
export function commonParams(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const params: Record<string, string> = { timestamp: beijingTime(new Date()) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') params[k] = v; // never send ''
  return params;
}

/**
 * One gateway call: signed request, response signature always verified, `code` checked. Anything that is not a
 * verified answer throws AlipayNoAnswerError. The SDK has no AbortSignal: its timeout bounds the request, and the
 * caller's signal is raced so the caller is never held past its deadline.
 */
export async function callAlipay<S extends z.ZodType>(
  sdk: AlipaySdk,
  method: string,
  bizContent: Record<string, string>,
  schema: S,
  signal?: AbortSignal,
  extra: Record<string, string | undefined> = {},
): Promise<AlipayAnswer<z.output<S>>> {
  let raw: unknown;
  try {
    if (signal?.aborted) throw signal.reason;
    raw = await raceSignal(sdk.exec(method, { bizContent, ...commonParams(extra) }, { validateSign: true }), signal);
  } catch (err) {
    throw translate(err, sdk.config.timeout);
  }
  const common = commonAnswer.safeParse(raw);
  if (!common.success) throw new AlipayNoAnswerError(`malformed ${method} response`);
  if (common.data.code !== '10000') return { ok: false, error: common.data };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AlipayNoAnswerError(`malformed ${method} response: ${parsed.error.issues[0]?.path.join('.')}`);
  return { ok: true, data: parsed.data };
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts (the request itself runs on). */
export function raceSignal<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(asError(signal.reason ?? new DOMException('aborted', 'AbortError')));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(asError(e))),
    );
  });
}

/**
 * `reason` itself when it is an Error by its shape (an abort reason is a DOMException, maybe of another realm:
 * not `instanceof` this realm's Error), so translate() still reads its name and message; anything else wrapped
 * in an Error with its text as the message (what translate() reported for it before) and itself as the cause.
 */
function asError(reason: unknown): Error {
  return isErrorLike(reason) ? reason : new Error(String(reason), { cause: reason });
}

function isErrorLike(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  const { name, message } = value as { name?: unknown; message?: unknown };
  return typeof name === 'string' && typeof message === 'string';
}

/**
 * alipay-sdk's errors carry Chinese messages and the raw response, abort reasons may come from another realm
 * (DOMException): keep a short, key-free English reason, by name and message rather than instanceof.
 */
function translate(err: unknown, timeoutMs: number): AlipayNoAnswerError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; message?: unknown; cause?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (name === 'TimeoutError') return new AlipayNoAnswerError("the caller's deadline passed", 'TimeoutError');
  if (name === 'AbortError') return new AlipayNoAnswerError('aborted by the caller', 'AbortError');
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as { name?: unknown; message?: unknown };
  if (typeof cause.name === 'string' && /Timeout/i.test(cause.name)) {
    return new AlipayNoAnswerError(`no answer within ${timeoutMs} ms`, 'TimeoutError');
  }
  if (message.startsWith('HttpClient Request error')) {
    return new AlipayNoAnswerError(`network error: ${(typeof cause.message === 'string' ? cause.message : message).slice(0, 200)}`);
  }
  const status = /status: (\d+)/.exec(message);
  if (status) return new AlipayNoAnswerError(`gateway answered HTTP ${status[1]}`);
  if (message.includes('验签失败')) return new AlipayNoAnswerError('response signature invalid');
  if (message.includes('Response 格式错误')) return new AlipayNoAnswerError('malformed response (no signed answer)');
  return new AlipayNoAnswerError(`alipay call failed: ${message.slice(0, 200)}`);
}
