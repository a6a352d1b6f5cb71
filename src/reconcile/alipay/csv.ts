import { parse } from 'csv-parse/sync';
import { StatementFormatError } from '../errors';

/**
 * One Alipay CSV line → trimmed cells. Alipay pads cells with a TAB (older files: spaces) so that Excel keeps
 * long numbers as text; every cell is trimmed. Lines without a quote are split on commas (the hot path); a line
 * with one goes through csv-parse, leniently (Alipay's quoting is not specified; a stray quote inside a cell is
 * text).
 */
export function splitAlipayLine(line: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(',').map((cell) => cell.trim());
  try {
    const [cells = []] = parse(line, { relax_quotes: true, relax_column_count: true, trim: true }) as string[][];
    return cells.map((cell) => cell.trim());
  } catch (err) {
    throw new StatementFormatError('FORMAT', `not a CSV line: ${(err as Error).message}`, { file, line: lineNo });
  }
}

/** Header names as looked up: trimmed, full-width brackets made ASCII (`订单金额（元）` → `订单金额(元)`). */
export function alipayColumnName(name: string): string {
  return name.trim().replace(/（/g, '(').replace(/）/g, ')');
}

/** `#导出时间：[2026年11月30日 09:12:33]` and the like → a Date (Beijing time), or undefined. */
export function bracketedTime(text: string): Date | undefined {
  const m = /\[(\d{4})年(\d{1,2})月(\d{1,2})日\s+(\d{1,2}):(\d{2}):(\d{2})\]/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h - 8, mi, s));
}
