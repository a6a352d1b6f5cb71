import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import type { StatementDownload, StatementSource } from '../../reconcile/download';
import type { AlipayAccount } from './account';
import { type AlipayClients, callAlipay } from './client';
import { AlipayNoAnswerError } from './errors';
import { parseAlipayStatement } from './statement';

const METHOD = 'alipay.data.dataservice.bill.downloadurl.query';
const answer = z.object({ bill_download_url: z.url({ protocol: /^https?$/ }) });
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/**
 * Alipay's trade bill for a day: `alipay.data.dataservice.bill.downloadurl.query` (bill_type=trade) through
 * alipay-sdk (signed request, response signature verified), then at once a plain GET of bill_download_url
 * (unsigned by the protocol, valid 30 s) into a temp zip that the caller disposes of. `isp.bill_not_exist` is
 * notReady: Alipay says the same for "not generated yet" and "nothing that day".
 */
export class AlipayStatements implements StatementSource<AlipayAccount> {
  constructor(private readonly clients: AlipayClients) {}

  async download(account: AlipayAccount, day: string, signal?: AbortSignal): Promise<StatementDownload> {
    let url: string;
    try {
      const r = await callAlipay(this.clients.get(account), METHOD, { bill_type: 'trade', bill_date: day }, answer, signal);
      if (!r.ok) {
        const code = r.error.sub_code ?? r.error.code;
        const reason = `${r.error.code} ${code}: ${r.error.sub_msg ?? r.error.msg ?? ''}`.trim();
        return /bill_not_exist/i.test(code) ? { outcome: 'notReady', code, reason } : { outcome: 'error', code, reason };
      }
      url = r.data.bill_download_url;
    } catch (err) {
      // The caller's own abort is thrown; a timeout, network error or bad signature is the channel not answering.
      if (err instanceof AlipayNoAnswerError && !signal?.aborted) return { outcome: 'error', code: 'NO_ANSWER', reason: err.message };
      throw err;
    }
    const dir = await mkdtemp(join(tmpdir(), 'paysvc-alipay-bill-'));
    const dispose = () => rm(dir, { recursive: true, force: true });
    try {
      const path = join(dir, 'bill.csv.zip');
      const failure = await this.fetchTo(url, path, signal).catch((err: unknown) => {
        if (signal?.aborted) throw err;
        return `bill_download_url fetch failed: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`;
      });
      if (failure) {
        await dispose();
        return { outcome: 'error', code: 'DOWNLOAD_FAILED', reason: failure };
      }
      return { outcome: 'ready', file: { kind: 'path', path }, parse: () => parseAlipayStatement(path), dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  /** Streams the zip to `path`; a reason when what came is no zip (a late fetch gets a text page). */
  private async fetchTo(url: string, path: string, signal?: AbortSignal): Promise<string | undefined> {
    const limit = AbortSignal.timeout(this.clients.timeoutMs * 10);
    const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, limit]) : limit, redirect: 'follow' });
    if (!res.ok || !res.body) return `bill_download_url answered HTTP ${res.status}`;
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
    const file = await open(path, 'r');
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await file.read(head, 0, 4, 0);
      if (bytesRead < 4 || !head.equals(ZIP_MAGIC)) return 'bill_download_url did not answer a zip (expired link?)';
    } finally {
      await file.close();
    }
    return undefined;
  }
}
