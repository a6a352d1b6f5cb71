import { parseCount, parseMilliFen, formatMilliFen } from '../../../reconcile/decimal';
import { StatementFormatError } from '../../../reconcile/errors';
import { Row, columnsOf, requireColumns, show, type Columns } from '../../../reconcile/cells';
import { addToTotals, emptyTotals, StatementStream, type StatementLine, type StatementSummary } from '../../../reconcile/statement';
import { decodeText, lineBatches } from '../../../reconcile/text-lines';
import { HashingTap, originalBytes, type BillBytes } from './bytes';
import { assertDigest, hashAlgorithm, type BillDigest } from './hash';

/**
 * WeChat Pay v3 trade bill (`GET /v3/bill/tradebill`, bill_type=ALL): UTF-8 with a BOM, CRLF, a header without
 * backquotes, rows whose every value starts with a backquote (split on "`,`" so commas inside names survive), and
 * at the end a summary header (总交易单数…) and one summary row. 27 columns, or 24 for merchants without
 * non-recharge coupons (no 订单金额, 申请退款金额, 费率备注); columns are found by header name. A refund is a row of
 * its own (交易状态 REFUND, the refunded trade's numbers, 微信退款单号 and 商户退款单号). Every summary figure is
 * checked against the rows: 总交易单数 counts every row, refunds included; each total is its column's plain sum.
 */
const COL = {
  time: '交易时间',
  channelTradeNo: '微信订单号',
  outTradeNo: '商户订单号',
  state: '交易状态',
  currency: '货币种类',
  settled: '应结订单金额',
  channelRefundNo: '微信退款单号',
  outRefundNo: '商户退款单号',
  refunded: '退款金额',
  rechargeRefund: '充值券退款金额',
  refundState: '退款状态',
  fee: '手续费',
  orderTotal: '订单金额',
  refundAsked: '申请退款金额',
} as const;
const OPTIONAL: readonly string[] = [COL.orderTotal, COL.refundAsked, COL.rechargeRefund];
const REQUIRED = Object.values(COL).filter((c) => !OPTIONAL.includes(c));

/** Summary column → the detail sum it must equal (in milli-fen), or the row count. */
const SUMMARY_SUMS = {
  settled: '应结订单总金额',
  refunded: '退款总金额',
  rechargeRefund: '充值券退款总金额',
  fee: '手续费总金额',
  orderTotal: '订单总金额',
  refundAsked: '申请退款总金额',
} as const;
const SUMMARY = new Map<string, keyof Sums>([
  ['总交易单数', 'rows'],
  ...Object.entries(SUMMARY_SUMS).map(([k, v]) => [v, k as keyof Sums] as const),
]);
const SUMMARY_HEADER = '总交易单数';

export interface WechatBillOptions {
  /** When given, the original bytes are hashed as they are read and the stream fails at its end on a mismatch. */
  digest?: BillDigest;
  /** Names the file in errors. */
  file?: string;
}

export function parseWechatBill(bytes: BillBytes, options: WechatBillOptions = {}): StatementStream {
  return new StatementStream(() => readWechatBill(bytes, options));
}

async function* readWechatBill(
  bytes: BillBytes,
  { digest, file = 'wechat bill' }: WechatBillOptions,
): AsyncGenerator<StatementLine, StatementSummary> {
  const tap = digest ? new HashingTap(hashAlgorithm(digest, file)) : undefined;
  const original = originalBytes(bytes, file);
  const summary = yield* billLines(lineBatches(decodeText(tap ? tap.tap(original) : original, 'utf-8', file), file), file);
  if (tap && digest) assertDigest(digest, tap.digest(), file);
  return summary;
}

async function* billLines(batches: AsyncIterable<string[]>, file: string): AsyncGenerator<StatementLine, StatementSummary> {
  const summary: StatementSummary = { channel: 'wechat', payments: emptyTotals(), refunds: emptyTotals(), checked: [] };
  const sums: Sums = { rows: 0n, settled: 0n, refunded: 0n, rechargeRefund: 0n, fee: 0n, orderTotal: 0n, refundAsked: 0n };
  let stage: 'header' | 'rows' | 'summary' | 'done' = 'header';
  let columns: Columns = new Map();
  let width = 0;
  let summaryHeader: string[] = [];
  let lineNo = 0;
  for await (const batch of batches) {
    for (const text of batch) {
      lineNo += 1;
      if (text === '') continue;
      if (stage === 'rows' && text.charCodeAt(0) === 96 /* ` */) {
        const cells = text.slice(1).split(',`');
        if (cells.length !== width) {
          throw new StatementFormatError('FORMAT', `has ${cells.length} cells, the header ${width} (a "\`,\`" inside a value?)`, {
            file,
            line: lineNo,
          });
        }
        const line = toLine(new Row(file, lineNo, cells, columns), sums);
        addToTotals(line.kind === 'payment' ? summary.payments : summary.refunds, line);
        yield line;
        continue;
      }
      switch (stage) {
        case 'header': {
          if (text.startsWith('`'))
            throw new StatementFormatError('FORMAT', 'the first line is a row, not the header', { file, line: lineNo });
          const header = text.split(',');
          columns = columnsOf(header, (name) => name.trim());
          requireColumns(columns, REQUIRED, file, lineNo);
          width = header.length;
          stage = 'rows';
          break;
        }
        case 'rows':
          if (!text.startsWith(SUMMARY_HEADER)) {
            throw new StatementFormatError('FORMAT', `neither a row (no leading backquote) nor the summary header: ${show(text)}`, {
              file,
              line: lineNo,
            });
          }
          summaryHeader = text.split(',').map((name) => name.trim());
          stage = 'summary';
          break;
        case 'summary':
          checkSummary(summaryHeader, text, sums, summary, file, lineNo);
          stage = 'done';
          break;
        case 'done':
          throw new StatementFormatError('FORMAT', `text after the summary row: ${show(text)}`, { file, line: lineNo });
      }
    }
  }
  if (stage !== 'done') {
    throw new StatementFormatError('TRUNCATED', `ends at line ${lineNo} without the ${SUMMARY_HEADER} summary`, { file });
  }
  return summary;
}

/** The detail's column sums, in milli-fen, for the summary row; `rows` counts every row. */
type Sums = Record<keyof typeof SUMMARY_SUMS | 'rows', bigint>;

/** One row → its line; adds the row's amounts to `sums`. Each cell is parsed once. */
function toLine(row: Row, sums: Sums): StatementLine {
  const state = row.text(COL.state);
  if (state === '') row.fail(COL.state, 'is empty');
  const currency = row.text(COL.currency);
  if (currency !== 'CNY') row.fail(COL.currency, `not CNY: ${show(currency)}`);
  const refund = state === 'REFUND';
  const settled = row.fen(COL.settled, 'non-negative');
  const refunded = row.fen(COL.refunded, 'non-negative');
  // 订单金额 and 申请退款金额 are absent from the 24-column layout: 应结订单金额 / 退款金额 stand in (equal without coupons).
  const orderTotal = row.has(COL.orderTotal) ? row.fen(COL.orderTotal, 'non-negative') : settled;
  const refundAsked = row.has(COL.refundAsked) ? row.fen(COL.refundAsked, 'non-negative') : refunded;
  const feeMilliFen = row.milliFen(COL.fee);
  sums.rows += 1n;
  sums.settled += settled * 1000n;
  sums.refunded += refunded * 1000n;
  if (row.has(COL.rechargeRefund)) sums.rechargeRefund += row.fen(COL.rechargeRefund, 'non-negative') * 1000n;
  sums.fee += feeMilliFen;
  sums.orderTotal += orderTotal * 1000n;
  sums.refundAsked += refundAsked * 1000n;
  if (!refund) {
    if (state === 'SUCCESS' && orderTotal === 0n)
      row.fail(row.has(COL.orderTotal) ? COL.orderTotal : COL.settled, 'a SUCCESS row with no amount');
    return {
      channel: 'wechat',
      kind: 'payment',
      outTradeNo: row.requiredNumber(COL.outTradeNo),
      channelTradeNo: row.requiredNumber(COL.channelTradeNo),
      amount: orderTotal,
      settledAmount: settled,
      feeMilliFen,
      currency: 'CNY',
      status: state,
      occurredAt: row.time(COL.time),
      line: row.line,
    };
  }
  if (refundAsked === 0n) row.fail(row.has(COL.refundAsked) ? COL.refundAsked : COL.refunded, 'a REFUND row with no amount');
  const status = row.text(COL.refundState);
  if (status === '') row.fail(COL.refundState, 'is empty on a REFUND row');
  return {
    channel: 'wechat',
    kind: 'refund',
    outTradeNo: row.requiredNumber(COL.outTradeNo),
    channelTradeNo: row.requiredNumber(COL.channelTradeNo),
    outRefundNo: row.requiredNumber(COL.outRefundNo, ['0']),
    channelRefundNo: row.requiredNumber(COL.channelRefundNo, ['0']),
    amount: refundAsked,
    settledAmount: refunded,
    feeMilliFen,
    currency: 'CNY',
    status,
    occurredAt: row.time(COL.time),
    line: row.line,
  };
}

function checkSummary(header: readonly string[], text: string, sums: Sums, summary: StatementSummary, file: string, lineNo: number): void {
  if (!text.startsWith('`')) throw new StatementFormatError('FORMAT', `not the summary row: ${show(text)}`, { file, line: lineNo });
  const cells = text.slice(1).split(',`');
  if (cells.length !== header.length) {
    throw new StatementFormatError('FORMAT', `the summary row has ${cells.length} cells, its header ${header.length}`, {
      file,
      line: lineNo,
    });
  }
  if (!header.includes(SUMMARY_HEADER))
    throw new StatementFormatError('FORMAT', `no ${SUMMARY_HEADER} in the summary header`, { file, line: lineNo - 1 });
  header.forEach((name, i) => {
    const column = SUMMARY.get(name);
    if (column === undefined) return; // a summary figure we do not know: not ours to check
    const cell = cells[i];
    const parsed = column === 'rows' ? parseCount(cell) : parseMilliFen(cell);
    if (parsed === undefined)
      throw new StatementFormatError('FORMAT', `not a ${column === 'rows' ? 'count' : 'total'}: ${show(cell)}`, {
        file,
        line: lineNo,
        column: name,
      });
    const rows = sums[column];
    const inFile = typeof parsed === 'number' ? BigInt(parsed) : parsed;
    if (inFile !== rows) {
      const figure = column === 'rows' ? String(rows) : formatMilliFen(rows);
      throw new StatementFormatError('TOTALS', `${name} says ${cell}, the rows add up to ${figure}`, { file, line: lineNo, column: name });
    }
    summary.checked.push(`${name}=${cell}`);
  });
}
