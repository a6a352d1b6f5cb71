import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beijingTime } from '../../src/channels/alipay/time';
import { readStatement, StatementFormatError, type StatementLine, type StatementProblem, type StatementSource } from '../../src/reconcile';
import type { StatementRow } from '../../sandboxes/kit/statement-rows';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'statements');

/** A §7 sample of the research notes as the channel sends it: `→` a TAB, `<BOM>` the BOM, CRLF after every line. */
export function sample(name: string): string {
  const text = readFileSync(path.join(FIXTURES, name), 'utf8').replace(/→/g, '\t').replace('<BOM>', '\ufeff');
  return `${text
    .split('\n')
    .filter((line, i, all) => line !== '' || i < all.length - 1)
    .join('\r\n')}\r\n`;
}

/** A scratch folder removed after the test file. */
export function scratchDir(): { dir: () => string; file: (name: string) => string } {
  let dir: string | undefined;
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));
  const get = () => (dir ??= mkdtempSync(path.join(tmpdir(), 'paysvc-statements-')));
  let n = 0;
  return { dir: get, file: (name) => path.join(get(), `${n++}-${name}`) };
}

/** What a parse must refuse, and how: the error's problem and a fragment of its message. */
export async function refusal(
  read: () => Promise<unknown>,
): Promise<{ problem: StatementProblem; message: string; line?: number; column?: string }> {
  try {
    await read();
  } catch (err) {
    if (!(err instanceof StatementFormatError)) throw err;
    return { problem: err.problem, message: err.message, line: err.where.line, column: err.where.column };
  }
  throw new Error('the statement was accepted');
}

/** The lines a writer's rows should parse back to (line numbers aside). */
export function expectedLines(channel: 'alipay' | 'wechat', rows: readonly StatementRow[]): Omit<StatementLine, 'line'>[] {
  return rows.map((r) => {
    const refund = r.kind === 'refund';
    const line: Omit<StatementLine, 'line'> = {
      channel,
      kind: r.kind,
      outTradeNo: r.outTradeNo,
      channelTradeNo: r.channelTradeNo,
      amount: r.amount,
      settledAmount: r.settledAmount ?? r.amount,
      feeMilliFen: r.feeMilliFen ?? 0n,
      currency: 'CNY',
      status: channel === 'alipay' ? (refund ? '退款' : '交易') : (r.status ?? 'SUCCESS'),
      occurredAt: r.occurredAt,
    };
    if (refund && r.outRefundNo) line.outRefundNo = r.outRefundNo;
    if (refund && channel === 'wechat') line.channelRefundNo = r.channelRefundNo;
    return line;
  });
}

export function withoutLineNumbers(lines: readonly StatementLine[]): Omit<StatementLine, 'line'>[] {
  return lines.map(({ line: _line, ...rest }) => rest);
}

/** Rows of a busy day: payments, partial refunds, fees with sub-fen digits (WeChat) or whole fen (Alipay). */
export function dayOfRows(count: number, options: { subFenFees: boolean }): StatementRow[] {
  const start = Date.parse('2026-11-28T16:00:00Z'); // 2026-11-29 00:00 Beijing
  return Array.from({ length: count }, (_, i) => {
    const amount = BigInt(1 + ((i * 7919) % 5_000_000));
    const fee = (amount * 6n) / 1000n; // 0.6%, in fen
    const row: StatementRow = {
      kind: i % 5 === 4 ? 'refund' : 'payment',
      outTradeNo: `T${String(i).padStart(12, '0')}`,
      channelTradeNo: `42000000002026112900${String(i).padStart(10, '0')}`,
      amount,
      feeMilliFen: options.subFenFees ? amount * 6n : fee * 1000n,
      occurredAt: new Date(start + ((i * 86_399_000) % 86_400_000) - (((i * 86_399_000) % 86_400_000) % 1000)),
      productName: i % 3 === 0 ? '套餐A,含饮料 "大杯"' : '测试商品',
    };
    if (row.kind === 'refund') {
      row.outRefundNo = `R${String(i).padStart(12, '0')}`;
      row.channelRefundNo = `5030000000202611290000${String(i).padStart(8, '0')}`;
      row.feeMilliFen = -(row.feeMilliFen ?? 0n);
    }
    return row;
  });
}

export { readStatement };

/** Today's date in Beijing, as the channels name a statement's day. */
export const beijingToday = (): string => beijingTime(new Date()).slice(0, 10);

type Keyed = Pick<StatementLine, 'kind' | 'outTradeNo' | 'outRefundNo'>;
const key = (l: Keyed) => `${l.kind}/${l.outTradeNo}/${l.outRefundNo ?? ''}`;

/** Lines in one order (kind, trade, refund), so a statement and what a test expects compare as lists. */
export const sortedLines = <T extends Keyed>(ls: T[]): T[] => [...ls].sort((a, b) => key(a).localeCompare(key(b)));

/** The facts a statement line and a test's own payment or refund must agree on, sorted. */
export const comparable = (ls: StatementLine[]) =>
  sortedLines(ls).map(({ kind, outTradeNo, channelTradeNo, outRefundNo, amount, settledAmount }) => ({
    kind,
    outTradeNo,
    channelTradeNo,
    outRefundNo,
    amount,
    settledAmount,
  }));

/** Downloads the day's statement, parses it to its end and disposes of it; fails unless it was ready. */
export async function downloadLines<A>(statements: StatementSource<A>, account: A, day = beijingToday()): Promise<StatementLine[]> {
  const d = await statements.download(account, day);
  if (d.outcome !== 'ready') throw new Error(`statement not ready: ${JSON.stringify(d)}`);
  try {
    const { lines } = await readStatement(d.parse());
    return lines;
  } finally {
    await d.dispose();
  }
}
