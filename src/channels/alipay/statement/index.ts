import { StatementFormatError } from '../../../reconcile/errors';
import { StatementStream, type StatementLine, type StatementSummary } from '../../../reconcile/statement';
import { decodeText, lineBatches } from '../../../reconcile/text-lines';
import { alipayDetailLines } from './detail';
import { alipayTotalRow } from './summary-file';
import { openZip } from './zip';

/** Entry names end so; the `(汇总)` brackets are ASCII in real files, full-width ones are accepted too. */
const DETAIL_SUFFIX = '_业务明细.csv';
const SUMMARY_SUFFIX = '_业务明细(汇总).csv';

/**
 * Alipay's trade bill (`alipay.data.dataservice.bill.downloadurl.query`, bill_type=trade), read from the
 * downloaded zip at `zipPath`: the detail's lines, then its summary. The summary file's 合计 counts and the
 * detail's own footer are both checked when the lines end. Other entries (`_财务明细.csv`…) are ignored.
 */
export function parseAlipayStatement(zipPath: string): StatementStream {
  return new StatementStream(() => readAlipayZip(zipPath));
}

async function* readAlipayZip(zipPath: string): AsyncGenerator<StatementLine, StatementSummary> {
  const zip = await openZip(zipPath, zipPath);
  try {
    const detail = oneEntry(zip.names, DETAIL_SUFFIX, zipPath);
    const totalsFile = oneEntry(zip.names, SUMMARY_SUFFIX, zipPath);
    const total = await alipayTotalRow(lineBatches(decodeText(zip.open(totalsFile), 'gbk', totalsFile), totalsFile), totalsFile);
    const summary = yield* alipayDetailLines(lineBatches(decodeText(zip.open(detail), 'gbk', detail), detail), detail);
    for (const [name, inFile, parsed] of [
      ['交易订单总笔数', total.payments, summary.payments.count],
      ['退款订单总笔数', total.refunds, summary.refunds.count],
    ] as const) {
      if (inFile !== parsed) {
        throw new StatementFormatError('TOTALS', `合计 ${name} says ${inFile}, the detail has ${parsed} rows`, {
          file: totalsFile,
          line: total.line,
        });
      }
      summary.checked.push(`汇总 合计 ${name}=${inFile}`);
    }
    return summary;
  } finally {
    zip.close();
  }
}

function oneEntry(names: readonly string[], suffix: string, file: string): string {
  const found = names.filter((name) => name.replace(/（/g, '(').replace(/）/g, ')').endsWith(suffix));
  if (found.length !== 1) {
    throw new StatementFormatError('FORMAT', `${found.length} entries end with ${suffix} (entries: ${names.join(', ') || 'none'})`, {
      file,
    });
  }
  return found[0];
}
