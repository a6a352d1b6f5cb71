import { createHash, type KeyObject } from 'node:crypto';
import { Rsa, Wechatpay } from 'wechatpay-axios-plugin';
import type { ChannelSaid } from '../types';
import type { WechatAccount } from './account';
import { errorBody } from './wire';

/** A response whose signature wechatpay-axios-plugin verified (headers, ±300 s, serial, RSA), any status. */
export interface WechatReply {
  status: number;
  data: unknown;
}

/** What the handlers pass to a chain call: the deadline as an abort signal. */
export interface WechatRequestConfig {
  signal: AbortSignal;
}

export type WechatSend = (wx: Wechatpay, config: WechatRequestConfig) => Promise<WechatReply>;

interface ClientEntry {
  wx: Wechatpay;
  merchantKey: KeyObject;
}

const MAX_CLIENTS = 256;

/**
 * One wechatpay-axios-plugin client per account, keyed by mchid, serial, base URL and a hash of the keys
 * (never the keys themselves). Every status is let through to the response verifier, so error answers are
 * signature-checked too; redirects are not followed.
 */
export class WechatClients {
  private readonly entries = new Map<string, ClientEntry>();

  get(account: WechatAccount): ClientEntry {
    const key = cacheKey(account);
    const hit = this.entries.get(key);
    if (hit) return hit;
    const merchantKey = Rsa.from(account.merchantPrivateKey, Rsa.KEY_TYPE_PRIVATE);
    const wx = new Wechatpay({
      mchid: account.mchId,
      serial: account.merchantSerial,
      privateKey: merchantKey as unknown as string,
      certs: { [account.platformPublicKeyId]: Rsa.from(account.platformPublicKey, Rsa.KEY_TYPE_PUBLIC) },
      baseURL: account.baseUrl,
      validateStatus: () => true,
      maxRedirects: 0,
    });
    if (this.entries.size >= MAX_CLIENTS) this.entries.delete(this.entries.keys().next().value as string);
    const entry = { wx, merchantKey };
    this.entries.set(key, entry);
    return entry;
  }
}

export const sharedWechatClients = new WechatClients();

function cacheKey(a: WechatAccount): string {
  const keys = createHash('sha256')
    .update(a.merchantPrivateKey)
    .update('\0')
    .update(a.platformPublicKeyId)
    .update('\0')
    .update(a.platformPublicKey)
    .digest('base64url');
  return JSON.stringify([a.mchId, a.merchantSerial, a.baseUrl, keys]);
}

/** Calls WeChat Pay within `timeoutMs` and the caller's signal; anything but a verified answer throws. */
export class WechatApi {
  constructor(
    private readonly timeoutMs: number,
    private readonly clients: WechatClients = sharedWechatClients,
  ) {}

  merchantKey(account: WechatAccount): KeyObject {
    return this.clients.get(account).merchantKey;
  }

  async call(account: WechatAccount, signal: AbortSignal | undefined, send: WechatSend): Promise<WechatReply> {
    const { wx } = this.clients.get(account);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await send(wx, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      return { status: res.status, data: res.data };
    } catch (err) {
      throw new Error(describeFailure(err, timeout, this.timeoutMs, signal), { cause: err });
    }
  }
}

/** A signed non-success answer: its code (or why there is none) and a short reason. */
export function errorOf(reply: WechatReply): { code: string; reason: string } {
  const parsed = errorBody.safeParse(reply.data);
  if (!parsed.success) return { code: `HTTP_${reply.status}`, reason: `HTTP ${reply.status} without an error code` };
  const { code, message } = parsed.data;
  return { code, reason: `HTTP ${reply.status} ${code}${message ? `: ${message.slice(0, 200)}` : ''}` };
}

/** What a verified answer said, for the records: the API called, its HTTP status, and an error's code and message. */
export function wechatSaid(endpoint: string, reply: WechatReply): ChannelSaid {
  const said: ChannelSaid = { endpoint, httpStatus: reply.status };
  if (reply.status < 300) return said;
  const parsed = errorBody.safeParse(reply.data);
  if (!parsed.success) return said;
  return { ...said, code: parsed.data.code, ...(parsed.data.message && { message: parsed.data.message }) };
}

const SIGNATURE_ERRORS: Readonly<Record<string, string>> = {
  EV3_RES_HEADERS_INCOMPLATE: 'the response is not signed (Wechatpay-* headers missing)',
  EV3_RES_HEADER_TIMESTAMP_OFFSET: 'the response timestamp is more than 300 s off',
  EV3_RES_HEADER_PLATFORM_SERIAL: 'the response is signed with an unknown Wechatpay-Serial',
  EV3_RES_HEADER_SIGNATURE_DIGEST: 'the response signature does not verify',
};

function describeFailure(err: unknown, timeout: AbortSignal, timeoutMs: number, signal?: AbortSignal): string {
  if (timeout.aborted) return `no answer within ${timeoutMs} ms`;
  if (signal?.aborted) return 'aborted by the caller';
  const e = err as { code?: unknown; message?: unknown; response?: { status?: number } };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && Object.hasOwn(SIGNATURE_ERRORS, code)) {
    return `untrusted response (HTTP ${e.response?.status ?? '?'}): ${SIGNATURE_ERRORS[code]}`;
  }
  const message = typeof e?.message === 'string' ? e.message.slice(0, 200) : String(err).slice(0, 200);
  return `network error${code ? ` ${code}` : ''}: ${message}`;
}
