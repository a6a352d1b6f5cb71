import { beijingTime } from '../../src/channels/alipay/time';
import { formatFen, formatMilliFen } from '../../src/reconcile/decimal';
import { encodeGbk } from '../kit/gbk';
import { chunked, type Rows, type StatementRow } from '../kit/statement-rows';
import { writeZip, type ZipSource } from '../kit/zip';

/**
 * Alipay's trade bill as the sandbox serves it: `<PID>0156_<yyyyMMdd>.csv.zip` holding the GBK detail CSV
 * (`…_业务明细.csv`: preamble, 25 columns, TAB-padded ids, negative refund amounts and service fee, footer) and
 * the summary CSV (`…_业务明细(汇总).csv`, one 合计 row), CRLF throughout, entry names in GBK without the
 * UTF-8 flag: the format src/channels/alipay/statement reads (see /work/notes/issue15-formats.md §2).
 */
export interface AlipayFileOptions {
  /** The PID; the file names `<PID>0156`. */
  pid?: string;
  /** yyyy-MM-dd (Beijing). */
  day?: string;
  exportedAt?: Date;
  /** What pads identifier and empty cells: a TAB (current files), a space (older ones) or nothing. */
  padding?: string;
}

export interface AlipayFileTotals {
  payments: number;
  refunds: number;
  paymentSettled: bigint;
  refundSettled: bigint;
  totalNet: bigint;
  feeNet: bigint;
}

const HEADER =
  '支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注';
const SUMMARY_HEADER =
  '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）';
const CRLF = '\r\n';

export function alipayFileNames(options: AlipayFileOptions = {}): { zip: string; detail: string; summary: string } {
  const base = `${options.pid ?? '2088000000000000'}0156_${(options.day ?? '2026-11-29').replace(/-/g, '')}`;
  return { zip: `${base}.csv.zip`, detail: `${base}_业务明细.csv`, summary: `${base}_业务明细(汇总).csv` };
}

function preamble(kind: '明细' | '汇总', options: AlipayFileOptions): string {
  const day = options.day ?? '2026-11-29';
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const cn = (d: string) => `${d.slice(0, 4)}年${d.slice(5, 7)}月${d.slice(8, 10)}日 00:00:00`;
  return [
    `#支付宝业务${kind}查询`,
    `#账号：[${options.pid ?? '2088000000000000'}0156]`,
    `#起始日期：[${cn(day)}]   终止日期：[${cn(next)}]`,
    `#-----------------------------------------业务${kind}列表----------------------------------------`,
  ].join(CRLF);
}

function exported(options: AlipayFileOptions): string {
  const t = beijingTime(options.exportedAt ?? new Date('2026-11-30T01:12:33Z'));
  return `#导出时间：[${t.slice(0, 4)}年${t.slice(5, 7)}月${t.slice(8, 10)}日 ${t.slice(11)}]`;
}

/** A free-text cell: quoted when it holds a comma or a quote (Alipay's own quoting is undocumented). */
function textCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function detailRow(row: StatementRow, pad: string): string {
  const refund = row.kind === 'refund';
  const sign = refund ? -1n : 1n;
  const at = beijingTime(row.occurredAt);
  const zero = '0.00';
  return [
    row.channelTradeNo + pad,
    row.outTradeNo + pad,
    (refund ? '退款' : '交易') + pad,
    textCell(row.productName ?? '测试商品'),
    at,
    at,
    pad,
    pad,
    pad,
    pad,
    `*三(138****0000)${pad}`,
    formatFen(row.amount * sign),
    formatFen((row.settledAmount ?? row.amount) * sign),
    zero,
    zero,
    zero,
    zero,
    zero,
    '',
    zero + pad,
    zero,
    (refund ? (row.outRefundNo ?? '') : '') + pad,
    formatMilliFen(-(row.feeMilliFen ?? 0n), 2),
    zero,
    '',
  ].join(',');
}

/** The detail CSV's text, in chunks; `totals` is filled as the rows pass (the summary needs it). */
export async function* alipayDetailText(
  rows: Rows,
  totals: AlipayFileTotals,
  options: AlipayFileOptions = {},
): AsyncGenerator<string, void> {
  const pad = options.padding ?? '\t';
  yield `${preamble('明细', options)}${CRLF}${HEADER}${CRLF}`;
  yield* chunked(
    (async function* () {
      for await (const row of rows) {
        const settled = row.settledAmount ?? row.amount;
        if (row.kind === 'payment') {
          totals.payments += 1;
          totals.paymentSettled += settled;
          totals.totalNet += row.amount;
        } else {
          totals.refunds += 1;
          totals.refundSettled += settled;
          totals.totalNet -= row.amount;
        }
        totals.feeNet += row.feeMilliFen ?? 0n;
        yield detailRow(row, pad) + CRLF;
      }
    })(),
  );
  yield [
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${totals.payments}笔，商家实收共${formatFen(totals.paymentSettled)}元，商家优惠共0.00元`,
    `#退款合计：${totals.refunds}笔，商家实收退款共${formatFen(-totals.refundSettled)}元，商家优惠退款共0.00元`,
    exported(options),
    '',
  ].join(CRLF);
}

export function alipaySummaryText(totals: AlipayFileTotals, options: AlipayFileOptions = {}): string {
  const net = totals.paymentSettled - totals.refundSettled;
  const fee = formatMilliFen(-totals.feeNet, 2);
  const total = [
    '合计',
    '',
    totals.payments,
    totals.refunds,
    formatFen(totals.totalNet),
    formatFen(net),
    '0.00',
    '0.00',
    '0.00',
    fee,
    '0.00',
  ];
  const netReceived = formatMilliFen(net * 1000n - totals.feeNet, 2);
  return [
    preamble('汇总', options),
    SUMMARY_HEADER,
    [...total, netReceived].join(','),
    '#----------------------------------------业务汇总列表结束-------------------------------------',
    exported(options),
    '',
  ].join(CRLF);
}

export function emptyAlipayTotals(): AlipayFileTotals {
  return { payments: 0, refunds: 0, paymentSettled: 0n, refundSettled: 0n, totalNet: 0n, feeNet: 0n };
}

async function* gbk(text: AsyncIterable<string>): AsyncGenerator<Uint8Array, void> {
  for await (const chunk of text) yield encodeGbk(chunk);
}

/** Writes the zip to `path`, streaming (a million rows never sit in memory). */
export async function writeAlipayStatement(path: string, rows: Rows, options: AlipayFileOptions = {}): Promise<AlipayFileTotals> {
  const names = alipayFileNames(options);
  const totals = emptyAlipayTotals();
  const summary = (function* () {
    yield encodeGbk(alipaySummaryText(totals, options)); // runs after the detail entry: totals are complete
  })();
  await writeZip(path, [
    { name: encodeGbk(names.detail), data: gbk(alipayDetailText(rows, totals, options)) },
    { name: encodeGbk(names.summary), data: summary },
  ]);
  return totals;
}

/**
 * Zips given texts (GBK) under the real entry names: for tests that hand-edit a file, and for extra entries
 * (`_财务明细.csv`). Texts are used as they are, line endings included.
 */
export async function zipAlipayTexts(path: string, entries: Record<string, string>, options: { utf8Names?: boolean } = {}): Promise<void> {
  const sources: ZipSource[] = Object.entries(entries).map(([name, text]) => ({
    name: options.utf8Names ? Buffer.from(name, 'utf8') : encodeGbk(name),
    utf8Name: options.utf8Names,
    data: [encodeGbk(text)],
  }));
  await writeZip(path, sources);
}
