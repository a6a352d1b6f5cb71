import { parseCount } from '../../../reconcile/decimal';
import { StatementFormatError } from '../../../reconcile/errors';
import { Row, columnsOf, requireColumns, type Columns } from '../../../reconcile/cells';
import { alipayColumnName, splitAlipayLine } from './csv';

/**
 * The summary CSV (`…_业务明细(汇总).csv`): one row per store and a `合计` (total) row between the 业务汇总列表
 * markers. Only the 合计 row's counts are used (checked against the detail's rows): whether its amounts net
 * out refunds is not documented, so they are not asserted.
 */
export interface AlipayTotalRow {
  payments: number;
  refunds: number;
  line: number;
}

const COL = { store: '门店编号', payments: '交易订单总笔数', refunds: '退款订单总笔数' } as const;

export async function alipayTotalRow(batches: AsyncIterable<string[]>, file: string): Promise<AlipayTotalRow> {
  let stage: 'preamble' | 'header' | 'rows' | 'done' = 'preamble';
  let columns: Columns = new Map();
  let total: AlipayTotalRow | undefined;
  let lineNo = 0;
  for await (const batch of batches) {
    for (const text of batch) {
      lineNo += 1;
      if (text.trim() === '' || stage === 'done') continue;
      if (stage === 'preamble') {
        if (text.includes('业务汇总列表') && !text.includes('结束')) stage = 'header';
      } else if (stage === 'header') {
        columns = columnsOf(splitAlipayLine(text, file, lineNo), alipayColumnName);
        requireColumns(columns, Object.values(COL), file, lineNo);
        stage = 'rows';
      } else if (text.startsWith('#')) {
        stage = 'done';
      } else {
        const row = new Row(file, lineNo, splitAlipayLine(text, file, lineNo), columns);
        if (row.text(COL.store) !== '合计') continue;
        if (total) throw new StatementFormatError('FORMAT', `a second 合计 row (the first is line ${total.line})`, { file, line: lineNo });
        total = { payments: count(row, COL.payments), refunds: count(row, COL.refunds), line: lineNo };
      }
    }
  }
  if (stage !== 'done' || !total) {
    throw new StatementFormatError('TRUNCATED', `ends at line ${lineNo} without a 合计 row and the 业务汇总列表结束 marker`, { file });
  }
  return total;
}

function count(row: Row, column: string): number {
  return parseCount(row.text(column)) ?? row.fail(column, `not a count: ${JSON.stringify(row.text(column))}`);
}
