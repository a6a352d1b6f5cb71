import { MAX_AMOUNT } from '../domain/money';
import { parseFen, parseMilliFen } from './decimal';
import { StatementFormatError } from './errors';

/**
 * The trade and refund numbers both channels accept: letters, digits and `_ - | * @ .`, at most 64. A cell
 * outside that (`=cmd|…`, a space, a quote) is no number the channel issued or accepted, so the row is refused.
 */
const CHANNEL_NO = /^[A-Za-z0-9_\-|*@.]{1,64}$/;

/** Header name → column index; names are normalised by the caller (full-width brackets, BOM, spaces). */
export type Columns = ReadonlyMap<string, number>;

export function columnsOf(header: readonly string[], normalise: (name: string) => string): Map<string, number> {
  const columns = new Map<string, number>();
  header.forEach((name, i) => {
    const key = normalise(name);
    if (!columns.has(key)) columns.set(key, i);
  });
  return columns;
}

export function requireColumns(columns: Columns, required: readonly string[], file: string, line: number): void {
  const missing = required.filter((name) => !columns.has(name));
  if (missing.length) throw new StatementFormatError('FORMAT', `header lacks ${missing.join(', ')}`, { file, line });
}

/** Reads one row's cells by header name; every refusal names the file, the line and the column. */
export class Row {
  constructor(
    readonly file: string,
    readonly line: number,
    private readonly cells: readonly string[],
    private readonly columns: Columns,
  ) {}

  fail(column: string, message: string): never {
    throw new StatementFormatError('FORMAT', message, { file: this.file, line: this.line, column });
  }

  has(column: string): boolean {
    return this.columns.has(column);
  }

  text(column: string): string {
    const i = this.columns.get(column);
    if (i === undefined) this.fail(column, 'no such column');
    return this.cells[i] ?? '';
  }

  /** A channel or merchant number; `absent` lists the cells that mean "none" (WeChat writes 0). */
  number(column: string, absent: readonly string[] = []): string | undefined {
    const cell = this.text(column);
    if (cell === '' || absent.includes(cell)) return undefined;
    if (!CHANNEL_NO.test(cell)) this.fail(column, `not a trade or refund number: ${show(cell)}`);
    return cell;
  }

  requiredNumber(column: string, absent: readonly string[] = []): string {
    return this.number(column, absent) ?? this.fail(column, 'is empty');
  }

  /** Yuan with at most 2 decimals → fen, with the sign the format requires. */
  fen(column: string, sign: 'positive' | 'non-negative' | 'negative' | 'non-positive' | 'any'): bigint {
    const cell = this.text(column);
    const fen = parseFen(cell);
    if (fen === undefined) this.fail(column, `not an amount in yuan with at most 2 decimals: ${show(cell)}`);
    if (fen > MAX_AMOUNT || -fen > MAX_AMOUNT) this.fail(column, `amount ${cell} is beyond any one trade`);
    const ok =
      sign === 'positive'
        ? fen > 0n
        : sign === 'non-negative'
          ? fen >= 0n
          : sign === 'negative'
            ? fen < 0n
            : sign === 'non-positive'
              ? fen <= 0n
              : true;
    if (!ok) this.fail(column, `must be ${sign}: ${cell}`);
    return fen;
  }

  /** A fee: yuan with up to 5 decimals → milli-fen, either sign. */
  milliFen(column: string): bigint {
    const cell = this.text(column);
    const milli = parseMilliFen(cell);
    if (milli === undefined) this.fail(column, `not a fee in yuan with at most 5 decimals: ${show(cell)}`);
    if (milli > MAX_AMOUNT * 1000n || -milli > MAX_AMOUNT * 1000n) this.fail(column, `fee ${cell} is beyond any one trade`);
    return milli;
  }

  /** `yyyy-MM-dd HH:mm:ss`, Beijing time. */
  time(column: string): Date {
    const cell = this.text(column);
    return parseStatementTime(cell) ?? this.fail(column, `not a time yyyy-MM-dd HH:mm:ss: ${show(cell)}`);
  }
}

const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3600_000;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving) → the instant; undefined for 2026-11-31. */
export function parseStatementTime(text: string): Date | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]];
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const local = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 2026-11-31 over to 2026-12-01: a day the month lacks shows as another day.
  if (local.getUTCDate() !== d) return undefined;
  local.setTime(local.getTime() - BEIJING_OFFSET_MS);
  return local;
}

/** A cell as an error message shows it: quoted, cut to 40 characters. */
export function show(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}
