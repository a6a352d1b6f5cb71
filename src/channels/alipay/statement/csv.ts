import { StatementFormatError } from '../../../reconcile/errors';

/**
 * One Alipay CSV line → trimmed cells. Alipay pads cells with a TAB (older files: spaces) so that Excel keeps
 * long numbers as text; every cell is trimmed. Lines without a quote are split on commas (the hot path). A cell
 * that starts with `"` is quoted CSV (RFC 4180: `""` is a quote, commas inside are text; padding after the
 * closing quote is dropped, other text after it is refused); a quote inside an unquoted cell is text. That is
 * how csv-parse reads a line with relax_quotes and trim (the test compares the two), hand-written because
 * csv-parse's sync parse costs ~220 µs a line: over a minute for a million-line day.
 */
export function splitAlipayLine(line: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(',').map((cell) => cell.trim());
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    let cell: string;
    if (line[i] === '"') {
      cell = '';
      let from = i + 1;
      for (;;) {
        const quote = line.indexOf('"', from);
        if (quote === -1)
          throw new StatementFormatError('FORMAT', `a quoted cell is not closed (cell ${cells.length + 1})`, { file, line: lineNo });
        cell += line.slice(from, quote);
        if (line[quote + 1] !== '"') {
          i = quote + 1;
          break;
        }
        cell += '"';
        from = quote + 2;
      }
      const comma = line.indexOf(',', i);
      if (line.slice(i, comma === -1 ? undefined : comma).trim() !== '') {
        throw new StatementFormatError('FORMAT', `text after the closing quote of cell ${cells.length + 1}`, { file, line: lineNo });
      }
      i = comma === -1 ? line.length : comma;
    } else {
      const comma = line.indexOf(',', i);
      cell = line.slice(i, comma === -1 ? undefined : comma);
      i = comma === -1 ? line.length : comma;
    }
    cells.push(cell.trim());
    if (i >= line.length) return cells;
    i += 1; // the comma
    if (i === line.length) {
      cells.push('');
      return cells;
    }
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
