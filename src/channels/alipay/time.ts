/** Alipay's timestamps are `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving). */
const BEIJING_OFFSET_MS = 8 * 3600_000;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;

export function beijingTime(at: Date): string {
  const b = new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString(); // yyyy-MM-ddTHH:mm:ss.sssZ
  return `${b.slice(0, 10)} ${b.slice(11, 19)}`;
}

/** Also accepts the millisecond form some notify fields use (`gmt_refund`); undefined if not a valid time. */
export function parseBeijingTime(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms = '0'] = m;
  const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, +ms.padEnd(3, '0')) - BEIJING_OFFSET_MS;
  const at = new Date(utc);
  return beijingTime(at).slice(0, 19) === `${y}-${mo}-${d} ${h}:${mi}:${s}` ? at : undefined;
}
