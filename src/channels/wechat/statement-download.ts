import { z } from 'zod';
import type { StatementDownload, StatementSource } from '../../reconcile/download';
import { StatementFormatError } from '../../reconcile/errors';
import type { WechatAccount } from './account';
import { errorOf, type WechatApi } from './client';
import { parseWechatBill, verifyWechatBill, type BillDigest } from './statement';
import { errorBody } from './wire';

const tradebillAnswer = z.object({
  hash_type: z.string().min(1),
  hash_value: z.string().regex(/^[0-9A-Fa-f]+$/),
  download_url: z.url({ protocol: /^https?$/ }),
});

/** tradebill's "no file (yet)" codes: retry later; an empty day looks the same, only the local books can tell. */
const NOT_READY = new Set(['STATEMENT_CREATING', 'NO_STATEMENT_EXIST']);

/**
 * WeChat Pay v3's trade bill for a day, through wechatpay-axios-plugin: `GET /v3/bill/tradebill` (bill_type=ALL,
 * tar_type=GZIP; signed request, the answer's signature verified like every v3 answer), then at once a signed
 * GET of download_url. WeChat does not sign the download's answer, so this one request, and only it, is read
 * without the plugin's verifier (the plugin itself skips it only for the path `/v3/billdownload/file`, and
 * only when given as a relative path); the bytes are then checked against tradebill's SHA-1 hash_value
 * (verifyWechatBill), which is what stands in for the signature. A mismatch is an error, never a ready file.
 */
export class WechatStatements implements StatementSource<WechatAccount> {
  constructor(
    private readonly api: WechatApi,
    /** Bills are larger than API answers: the download gets its own, longer limit. */
    private readonly downloadApi: WechatApi,
  ) {}

  async download(account: WechatAccount, day: string, signal?: AbortSignal): Promise<StatementDownload> {
    let reply;
    try {
      reply = await this.api.call(account, signal, (wx, cfg) =>
        wx.v3.bill.tradebill.get({ ...cfg, params: { bill_date: day, bill_type: 'ALL', tar_type: 'GZIP' } }),
      );
    } catch (err) {
      if (signal?.aborted) throw err;
      return { outcome: 'error', code: 'NO_ANSWER', reason: (err as Error).message };
    }
    if (reply.status !== 200) {
      const { code, reason } = errorOf(reply);
      return NOT_READY.has(code) ? { outcome: 'notReady', code, reason } : { outcome: 'error', code, reason };
    }
    const parsed = tradebillAnswer.safeParse(reply.data);
    if (!parsed.success) return { outcome: 'error', code: 'NO_ANSWER', reason: 'malformed tradebill answer' };
    const digest: BillDigest = { hashType: parsed.data.hash_type, hashValue: parsed.data.hash_value };
    const url = new URL(parsed.data.download_url);
    // The download is signed with the merchant key: never send that to a host other than the API's own.
    if (url.origin !== new URL(account.baseUrl).origin) {
      return { outcome: 'error', code: 'NO_ANSWER', reason: `download_url is on another host (${url.host})` };
    }
    let file;
    try {
      file = await this.downloadApi.call(account, signal, (wx, cfg) =>
        wx.client.v3.request({
          ...cfg,
          method: 'GET',
          url: url.href,
          responseType: 'arraybuffer',
          // This answer is unsigned by the protocol: take the bytes as they came (the hash checks them below).
          transformResponse: [(data: unknown) => data],
        }),
      );
    } catch (err) {
      if (signal?.aborted) throw err;
      return { outcome: 'error', code: 'NO_ANSWER', reason: (err as Error).message };
    }
    const bytes = toBytes(file.data);
    if (file.status !== 200) {
      const body = errorBody.safeParse(safeJson(bytes));
      const code = body.success ? body.data.code : `HTTP_${file.status}`;
      return { outcome: 'error', code, reason: `download answered HTTP ${file.status} ${code}` };
    }
    try {
      await verifyWechatBill(bytes, digest, `wechat bill ${day}`);
    } catch (err) {
      if (!(err instanceof StatementFormatError)) throw err;
      return { outcome: 'error', code: err.problem === 'HASH' ? 'HASH_MISMATCH' : err.problem, reason: err.message };
    }
    return {
      outcome: 'ready',
      file: { kind: 'bytes', bytes },
      parse: () => parseWechatBill(bytes, { digest, file: `wechat bill ${day}` }),
      dispose: () => Promise.resolve(),
    };
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return new Uint8Array(0);
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
