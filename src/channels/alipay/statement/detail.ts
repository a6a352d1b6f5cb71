import { formatFen, parseFen } from '../../../reconcile/decimal';
import { StatementFormatError } from '../../../reconcile/errors';
import { Row, columnsOf, requireColumns, type Columns } from '../../../reconcile/cells';
import { addToTotals, emptyTotals, type StatementLine, type StatementSummary } from '../../../reconcile/statement';
import { alipayColumnName, bracketedTime, splitAlipayLine } from './csv';

/**
 * The detail CSV (`…_业务明细.csv`): `#` preamble, a marker line holding 业务明细列表, the header, the rows, a
 * marker holding 业务明细列表结束, then the `#` footer (交易合计, 退款合计, 导出时间). Columns are found by header
 * name. A row is 交易 (a payment) or 退款 (a refund: the original trade's numbers, the refund's out_request_no in
 * 退款批次号/请求号, and negative amounts, made positive here). The footer's counts and sums are checked.
 */
const COL = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  type: '业务类型',
  completedAt: '完成时间',
  total: '订单金额(元)',
  received: '商家实收(元)',
  merchantDiscount: '商家优惠(元)',
  refundNo: '退款批次号/请求号',
  fee: '服务费(元)',
  remark: '备注',
} as const;
const REQUIRED = Object.values(COL).filter((c) => c !== COL.remark);

const TRADE_FOOTER = /^#交易合计[:：]\s*(\d+)笔[,，]\s*商家实收共(-?[\d.]+)元(?:[,，]\s*商家优惠共(-?[\d.]+)元)?/;
const REFUND_FOOTER = /^#退款合计[:：]\s*(\d+)笔[,，]\s*商家实收退款共(-?[\d.]+)元(?:[,，]\s*商家优惠退款共(-?[\d.]+)元)?/;
const ACCOUNT = /^#账号[:：]\s*\[([^\]]*)\]/;

type Stage = 'preamble' | 'header' | 'rows' | 'footer';

export async function* alipayDetailLines(batches: AsyncIterable<string[]>, file: string): AsyncGenerator<StatementLine, StatementSummary> {
  const summary: StatementSummary = { channel: 'alipay', payments: emptyTotals(), refunds: emptyTotals(), checked: [] };
  const discounts = { payment: 0n, refund: 0n };
  const footers: { trade?: RegExpExecArray; refund?: RegExpExecArray; tradeLine?: number; refundLine?: number } = {};
  let stage: Stage = 'preamble';
  let columns: Columns = new Map();
  let width = 0;
  let lineNo = 0;
  for await (const batch of batches) {
    for (const text of batch) {
      lineNo += 1;
      if (text.trim() === '') continue;
      const comment = text.startsWith('#');
      if (stage === 'rows' && !comment) {
        const row = new Row(file, lineNo, cellsOf(text, width, columns, file, lineNo), columns);
        const line = toLine(row);
        addToTotals(line.kind === 'payment' ? summary.payments : summary.refunds, line);
        discounts[line.kind] += row.fen(COL.merchantDiscount, 'any');
        yield line;
        continue;
      }
      switch (stage) {
        case 'preamble':
          if (!comment) throw new StatementFormatError('FORMAT', 'a row before the 业务明细列表 marker', { file, line: lineNo });
          summary.account ??= ACCOUNT.exec(text)?.[1]?.trim();
          if (text.includes('业务明细列表') && !text.includes('结束')) stage = 'header';
          break;
        case 'header': {
          const header = splitAlipayLine(text, file, lineNo);
          columns = columnsOf(header, alipayColumnName);
          requireColumns(columns, REQUIRED, file, lineNo);
          width = header.length;
          stage = 'rows';
          break;
        }
        case 'rows':
          // A `#` line ends the rows; only the end marker may.
          if (!text.includes('业务明细列表结束')) {
            throw new StatementFormatError('FORMAT', `unexpected ${JSON.stringify(text.slice(0, 30))} among the rows`, {
              file,
              line: lineNo,
            });
          }
          stage = 'footer';
          break;
        case 'footer':
          if (!comment) throw new StatementFormatError('FORMAT', 'a row after the 业务明细列表结束 marker', { file, line: lineNo });
          if (TRADE_FOOTER.test(text)) [footers.trade, footers.tradeLine] = [TRADE_FOOTER.exec(text)!, lineNo];
          else if (REFUND_FOOTER.test(text)) [footers.refund, footers.refundLine] = [REFUND_FOOTER.exec(text)!, lineNo];
          else if (text.startsWith('#导出时间')) summary.exportedAt = bracketedTime(text);
          break;
      }
    }
  }
  if (stage !== 'footer' || !footers.trade || !footers.refund) {
    throw new StatementFormatError('TRUNCATED', `ends at line ${lineNo} without the #交易合计 and #退款合计 footer`, { file });
  }
  const check = (name: string, footerLine: number, inFile: string | undefined, parsed: bigint, sign: 1n | -1n | 0n): void => {
    if (inFile === undefined) return;
    const value = name.endsWith('笔数') ? BigInt(inFile) : parseFen(inFile);
    const matches = value !== undefined && (sign === 0n ? value === parsed || value === -parsed : value === parsed * sign);
    if (!matches) {
      const figure = name.endsWith('笔数') ? String(parsed) : formatFen(sign === 0n ? parsed : parsed * sign);
      throw new StatementFormatError('TOTALS', `${name} says ${inFile}, the rows add up to ${figure}`, { file, line: footerLine });
    }
    summary.checked.push(`${name}=${inFile}`);
  };
  const [, tradeCount, tradeReceived, tradeDiscount] = footers.trade;
  const [, refundCount, refundReceived, refundDiscount] = footers.refund;
  check('交易合计 笔数', footers.tradeLine!, tradeCount, BigInt(summary.payments.count), 1n);
  check('交易合计 商家实收', footers.tradeLine!, tradeReceived, summary.payments.settledAmount, 1n);
  check('交易合计 商家优惠', footers.tradeLine!, tradeDiscount, discounts.payment, 1n);
  check('退款合计 笔数', footers.refundLine!, refundCount, BigInt(summary.refunds.count), 1n);
  check('退款合计 商家实收退款', footers.refundLine!, refundReceived, summary.refunds.settledAmount, -1n);
  // The sign of 商家优惠退款 is not documented: either sign of the rows' sum is accepted.
  check('退款合计 商家优惠退款', footers.refundLine!, refundDiscount, discounts.refund, 0n);
  return summary;
}

/** A row's cells; more cells than the header is a comma in 备注 (the last column), anything else is refused. */
function cellsOf(text: string, width: number, columns: Columns, file: string, lineNo: number): string[] {
  const cells = splitAlipayLine(text, file, lineNo);
  if (cells.length === width) return cells;
  if (cells.length > width && columns.get(COL.remark) === width - 1) {
    return [...cells.slice(0, width - 1), cells.slice(width - 1).join(',')];
  }
  throw new StatementFormatError('FORMAT', `has ${cells.length} cells, the header ${width} (an unquoted comma in a name?)`, {
    file,
    line: lineNo,
  });
}

function toLine(row: Row): StatementLine {
  const type = row.text(COL.type);
  if (type !== '交易' && type !== '退款') row.fail(COL.type, `neither 交易 nor 退款: ${JSON.stringify(type)}`);
  const payment = type === '交易';
  const line: StatementLine = {
    channel: 'alipay',
    kind: payment ? 'payment' : 'refund',
    outTradeNo: row.requiredNumber(COL.outTradeNo),
    channelTradeNo: row.requiredNumber(COL.tradeNo),
    amount: payment ? row.fen(COL.total, 'positive') : -row.fen(COL.total, 'negative'),
    settledAmount: payment ? row.fen(COL.received, 'non-negative') : -row.fen(COL.received, 'non-positive'),
    // Alipay prints the service fee it takes as a negative number.
    feeMilliFen: -row.milliFen(COL.fee),
    currency: 'CNY',
    status: type,
    occurredAt: row.time(COL.completedAt),
    line: row.line,
  };
  if (!payment) {
    const outRefundNo = row.number(COL.refundNo);
    if (outRefundNo !== undefined) line.outRefundNo = outRefundNo;
  }
  return line;
}
