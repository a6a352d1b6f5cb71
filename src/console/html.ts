import { utcOffsetSeconds } from '../domain/time-zones';

/**
 * HTML the console writes. Every interpolated value is escaped unless it is already Html (built by `html` itself),
 * so a hostile identifier (an out_order_no, a notify body, a channel's message) is only ever text.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

type Part = Html | string | number | bigint | boolean | null | undefined | readonly Part[];

function render(v: Part): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return (v as readonly Part[]).map(render).join('');
  return escapeHtml(String(v));
}

/** A template whose `${…}` values are escaped (arrays joined, Html kept as is, null/undefined/false left out). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  values.forEach((v, i) => (out += render(v) + strings[i + 1]));
  return new Html(out);
}

/** A table column's header text; `num` ones are right-aligned (amounts, counts), as their cells are. */
export type Column = string | { text: string; num: true };

export const num = (text: string): Column => ({ text, num: true });

/**
 * A table: one header cell per column, then the rows; with no rows, one row saying `empty` across every column
 * (its span is the number of columns, never counted by hand).
 */
export function table(t: { id?: string; columns: readonly Column[]; rows: readonly Html[]; empty: string }): Html {
  const head = t.columns.map((c) => (typeof c === 'string' ? html`<th>${c}</th>` : html`<th class="num">${c.text}</th>`));
  const body = t.rows.length
    ? t.rows
    : html`<tr>
        <td colspan="${t.columns.length}">${t.empty}</td>
      </tr>`;
  return html`<table${t.id === undefined ? '' : html` id="${t.id}"`}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A query string from the given values; empty ones are left out. */
export function query(values: Record<string, string | undefined>): string {
  const q = new URLSearchParams(Object.entries(values).filter((kv): kv is [string, string] => Boolean(kv[1])));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Fen as yuan with every fen: 123456n → "1,234.56", -5n → "-0.05". Integer math only. */
export function yuan(fen: bigint): string {
  const sign = fen < 0n ? '-' : '';
  const abs = fen < 0n ? -fen : fen;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${whole}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** part / whole as a percentage with one decimal, rounded half up, in integer math: "97.5%"; "–" when whole is 0. */
export function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return '–';
  const tenths = (part * 2000n + whole) / (2n * whole);
  return `${tenths / 10n}.${tenths % 10n}%`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `at` as the operator reads it in their zone: 2026-12-02 20:03:26.123. */
export function localTime(at: Date, timeZone: string): string {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('sv-SE', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      fractionalSecondDigits: 3,
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f.format(at).replace(',', '.');
}

/** A time in the operator's zone, with the exact UTC instant on hover. */
export const time = (at: Date | null | undefined, timeZone: string): Html =>
  at ? html`<time datetime="${at.toISOString()}" title="${at.toISOString()} UTC">${localTime(at, timeZone)}</time>` : html`–`;

/** The instant a local day (YYYY-MM-DD) starts in the zone (its offset read at the guess, then again at the answer). */
export function startOfLocalDay(timeZone: string, day: string): Date {
  const guess = Date.parse(`${day}T00:00:00.000Z`);
  const first = guess - utcOffsetSeconds(timeZone, new Date(guess)) * 1000;
  return new Date(guess - utcOffsetSeconds(timeZone, new Date(first)) * 1000);
}

/** The local day (YYYY-MM-DD) `days` after `day`. */
export const addDays = (day: string, days: number): string =>
  new Date(Date.parse(`${day}T00:00:00.000Z`) + days * 86400_000).toISOString().slice(0, 10);
