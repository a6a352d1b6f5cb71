import { utcOffsetSeconds } from './time-zones';

/**
 * The channels' statements are cut by Beijing day (UTC+8 all year: China has no daylight saving), written
 * yyyy-MM-dd. Reconciliation's callers (the RPCs, the daily job, the CLI) name days this way.
 */
const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day written yyyy-MM-dd (2026-02-30 is not one). */
export function isStatementDay(s: string): boolean {
  const m = DAY.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3] && +m[1] >= 2000;
}

/** The Beijing day `at` falls on. */
export const beijingDay = (at: Date): string => new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);

/** The day before `day` (yyyy-MM-dd). */
export const dayBefore = (day: string): string => new Date(Date.parse(`${day}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);

/** The wall-clock time at `at` in `timeZone`, as HH:mm. */
export function localTimeOfDay(at: Date, timeZone: string): string {
  return new Date(at.getTime() + utcOffsetSeconds(timeZone, at) * 1000).toISOString().slice(11, 16);
}
