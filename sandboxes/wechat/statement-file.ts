import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { gzipSync, createGzip } from 'node:zlib';
import { beijingTime } from '../../src/channels/alipay/time';
import { formatFen, formatMilliFen } from '../../src/reconcile/decimal';
import { chunked, type Rows, type StatementRow } from '../kit/statement-rows';

/**
 * WeChat Pay v3's trade bill (bill_type=ALL) as the sandbox serves it: UTF-8 with a BOM, CRLF, every value
 * prefixed with a backquote, refunds as rows of their own, the summary header and row at the end; 27 columns, or
 * the 24 of merchants without non-recharge coupons. `hashValue` is SHA-1 of these bytes before any gzip, as
 * `GET /v3/bill/tradebill` announces it (see /work/notes/issue15-formats.md §4).
 */
export interface WechatFileOptions {
  columns?: 24 | 27;
  appId?: string;
  mchId?: string;
}

const HEADER_27 =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
const SUMMARY_27 = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';
const CRLF = '\r\n';
const BOM = '\ufeff';

function row(r: StatementRow, options: WechatFileOptions): string[] {
  const refund = r.kind === 'refund';
  const settled = r.settledAmount ?? r.amount;
  return [
    beijingTime(r.occurredAt),
    options.appId ?? 'wx0000000000000001',
    options.mchId ?? '1900000001',
    '0',
    '',
    r.channelTradeNo,
    r.outTradeNo,
    'oAbCdEfGhIjKlMnOpQrStUvWxYz0',
    'JSAPI',
    refund ? 'REFUND' : (r.status ?? 'SUCCESS'),
    'OTHERS',
    'CNY',
    formatFen(refund ? 0n : settled),
    '0.00',
    refund ? (r.channelRefundNo ?? '') : '0',
    refund ? (r.outRefundNo ?? '') : '0',
    formatFen(refund ? settled : 0n),
    '0.00',
    refund ? 'ORIGINAL' : '',
    refund ? (r.status ?? 'SUCCESS') : '',
    r.productName ?? '测试商品',
    '',
    formatMilliFen(r.feeMilliFen ?? 0n),
    '0.60%',
    formatFen(refund ? 0n : r.amount),
    formatFen(refund ? r.amount : 0n),
    '',
  ];
}

/** The bill's text, in chunks. */
export async function* wechatBillText(rows: Rows, options: WechatFileOptions = {}): AsyncGenerator<string, void> {
  const width = options.columns ?? 27;
  yield BOM + HEADER_27.split(',').slice(0, width).join(',') + CRLF;
  const sums = { rows: 0, settled: 0n, refunded: 0n, fee: 0n, total: 0n, asked: 0n };
  yield* chunked(
    (async function* () {
      for await (const r of rows) {
        const cells = row(r, options).slice(0, width);
        const settled = r.settledAmount ?? r.amount;
        sums.rows += 1;
        sums.fee += r.feeMilliFen ?? 0n;
        if (r.kind === 'refund') {
          sums.refunded += settled;
          sums.asked += r.amount;
        } else {
          sums.settled += settled;
          sums.total += r.amount;
        }
        yield `\`${cells.join(',`')}${CRLF}`;
      }
    })(),
  );
  const figures = [
    String(sums.rows),
    formatFen(sums.settled),
    formatFen(sums.refunded),
    '0.00',
    formatMilliFen(sums.fee),
    formatFen(sums.total),
    formatFen(sums.asked),
  ];
  const summaryWidth = width === 27 ? 7 : 5;
  yield SUMMARY_27.split(',').slice(0, summaryWidth).join(',') + CRLF + `\`${figures.slice(0, summaryWidth).join(',`')}${CRLF}`;
}

/** The whole bill in memory (tests, a sandbox's small day): bytes as served, and the digest of the original. */
export async function wechatBillBytes(
  rows: Rows,
  options: WechatFileOptions & { gzip?: boolean } = {},
): Promise<{ bytes: Buffer; hashValue: string }> {
  const parts: Buffer[] = [];
  for await (const chunk of wechatBillText(rows, options)) parts.push(Buffer.from(chunk, 'utf8'));
  const original = Buffer.concat(parts);
  return { bytes: options.gzip ? gzipSync(original) : original, hashValue: sha1(original) };
}

/** The same bill written to `path`, streaming (gzipped when asked), for the million-line bench. */
export async function writeWechatBill(
  path: string,
  rows: Rows,
  options: WechatFileOptions & { gzip?: boolean } = {},
): Promise<{ hashValue: string }> {
  const file = await open(path, 'w');
  const hash = createHash('sha1');
  try {
    const gzip = options.gzip ? createGzip() : undefined;
    const drained = gzip
      ? (async () => {
          for await (const chunk of gzip) await file.write(chunk as Buffer);
        })()
      : Promise.resolve();
    for await (const text of wechatBillText(rows, options)) {
      const bytes = Buffer.from(text, 'utf8');
      hash.update(bytes);
      if (!gzip) await file.write(bytes);
      else if (!gzip.write(bytes)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip?.end();
    await drained;
  } finally {
    await file.close();
  }
  return { hashValue: hash.digest('hex') };
}

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}
