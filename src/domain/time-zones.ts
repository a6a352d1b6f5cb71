/**
 * Local days in an IANA time zone, without the database's time zone tables (MariaDB ships without them loaded).
 * A zone's offset from UTC is constant between its transitions (DST, or a change of law), so a range of
 * instants splits into a few spans of constant offset; the local day of an instant in a span is the UTC day of
 * instant + offset. SQL can bucket by that with a CASE over the spans, exactly, in zones with or without DST.
 */

/** A span of constant UTC offset: from `from` until the next span's `from`. */
export interface OffsetSpan {
  from: Date;
  offsetSeconds: number;
}

/** Keyed by the zone's canonical name, so callers' spellings ("asia/SHANGHAI") cannot grow it without bound. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  const probe = formatters.get(timeZone);
  if (probe) return probe;
  // Throws for an unknown zone; resolvedOptions() gives the canonical name the cache is keyed by.
  const canonical = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  let f = formatters.get(canonical);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(canonical, f);
  }
  return f;
}

/** True when Intl knows the zone (an IANA name such as Asia/Shanghai). */
export function isTimeZone(name: string): boolean {
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone's canonical spelling ("asia/shanghai" → "Asia/Shanghai"). */
export const canonicalTimeZone = (name: string): string => formatter(name).resolvedOptions().timeZone;

/** The zone's offset from UTC at `at`, in whole seconds (28800 for Asia/Shanghai). */
export function utcOffsetSeconds(timeZone: string, at: Date): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  const wall = Date.UTC(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return Math.round((wall - Math.floor(at.getTime() / 1000) * 1000) / 1000);
}

/** Offsets are sampled daily: zones change a few times a year at most, never there and back within a day. */
const SAMPLE_MS = 86400_000;

/** The spans of constant offset that cover [from, to), first one starting at `from`. */
export function offsetSpans(timeZone: string, from: Date, to: Date): OffsetSpan[] {
  const offsetAt = (ms: number) => utcOffsetSeconds(timeZone, new Date(ms));
  const spans: OffsetSpan[] = [{ from, offsetSeconds: offsetAt(from.getTime()) }];
  for (let lo = from.getTime(); lo < to.getTime();) {
    const hi = Math.min(lo + SAMPLE_MS, to.getTime());
    const current = spans[spans.length - 1].offsetSeconds;
    if (offsetAt(hi) === current) {
      lo = hi;
      continue;
    }
    // The offset changes in (lo, hi]: find the first millisecond with the new one.
    let [a, b] = [lo, hi];
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (offsetAt(mid) === current) a = mid;
      else b = mid;
    }
    if (b < to.getTime()) spans.push({ from: new Date(b), offsetSeconds: offsetAt(b) });
    lo = b;
  }
  return spans;
}

/** YYYY-MM-DD of `at` in the zone. */
export function localDay(timeZone: string, at: Date): string {
  return new Date(at.getTime() + utcOffsetSeconds(timeZone, at) * 1000).toISOString().slice(0, 10);
}
