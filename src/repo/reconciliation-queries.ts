import type { Db } from '../infra/db';
import type { ReconDifference, ReconRun } from '../generated/prisma/client';
import type { ReconDifferenceKind } from '../generated/prisma/enums';

export type { ReconDifference, ReconRun };

/**
 * The read side of reconciliation (the operate RPCs, the daily job, the CLI): runs and differences as stored.
 * The engine writes them (src/repo/reconciliation.ts); nothing here writes. A day is a DATE column, read and
 * written as midnight UTC of that calendar day (`dayDate`).
 */

/** yyyy-MM-dd as the DATE column holds it. */
export const dayDate = (day: string): Date => new Date(`${day}T00:00:00.000Z`);
/** A DATE column's value as yyyy-MM-dd. */
export const dayText = (d: Date): string => d.toISOString().slice(0, 10);

export interface RunFilter {
  tenantId: string;
  channel?: string;
  /** yyyy-MM-dd, inclusive. */
  dayFrom?: string;
  dayTo?: string;
}

/** Where a page of runs starts: after the run (day, id) last served, in (day desc, id desc) order. */
export interface RunCursor {
  day: string;
  id: bigint;
}

/** A tenant's runs, newest day first and of one day the newest run first, after `after`, at most `take`. */
export function listRunsBefore(db: Db, f: RunFilter, after: RunCursor | undefined, take: number): Promise<ReconRun[]> {
  const day = { ...(f.dayFrom ? { gte: dayDate(f.dayFrom) } : {}), ...(f.dayTo ? { lte: dayDate(f.dayTo) } : {}) };
  return db.reconRun.findMany({
    where: {
      tenantId: f.tenantId,
      ...(f.channel ? { channel: f.channel } : {}),
      ...(f.dayFrom || f.dayTo ? { day } : {}),
      ...(after ? { OR: [{ day: { lt: dayDate(after.day) } }, { day: dayDate(after.day), id: { lt: after.id } }] } : {}),
    },
    orderBy: [{ day: 'desc' }, { id: 'desc' }],
    take,
  });
}

/** One of the tenant's runs by id (null for another tenant's: invisible, as if absent). */
export function findRun(db: Db, tenantId: string, id: bigint): Promise<ReconRun | null> {
  return db.reconRun.findFirst({ where: { id, tenantId } });
}

/**
 * The day's answer: its newest DONE run, else its newest run that is not RUNNING (NOT_READY, FAILED), or null. A
 * later rerun that failed (a refused download) must not hide what the last complete run found.
 */
export async function findNewestFinishedRun(db: Db, tenantId: string, channel: string, day: string): Promise<ReconRun | null> {
  const of = { tenantId, channel, day: dayDate(day) };
  return (
    (await db.reconRun.findFirst({ where: { ...of, status: 'DONE' }, orderBy: { id: 'desc' } })) ??
    db.reconRun.findFirst({ where: { ...of, status: { not: 'RUNNING' } }, orderBy: { id: 'desc' } })
  );
}

/** Whether a run of the day finished DONE: the daily job leaves such a day alone. */
export async function dayIsDone(db: Db, tenantId: string, channel: string, day: string): Promise<boolean> {
  const done = await db.reconRun.findFirst({ where: { tenantId, channel, day: dayDate(day), status: 'DONE' }, select: { id: true } });
  return done !== null;
}

/** A run's differences in the order it found them (id), optionally only some kinds, after row `afterId`, at most `take`. */
export function listDifferencesAfter(
  db: Db,
  runId: bigint,
  kinds: readonly ReconDifferenceKind[],
  afterId: bigint | undefined,
  take: number,
): Promise<ReconDifference[]> {
  return db.reconDifference.findMany({
    where: {
      runId,
      ...(kinds.length ? { kind: { in: [...kinds] } } : {}),
      ...(afterId === undefined ? {} : { id: { gt: afterId } }),
    },
    orderBy: { id: 'asc' },
    take,
  });
}

/** Every (tenant, channel) with an account at one of `channels`, tenants registered: what the daily job reconciles. */
export async function accountsToReconcile(db: Db, channels: readonly string[]): Promise<Array<{ tenantId: string; channel: string }>> {
  if (channels.length === 0) return [];
  const rows = await db.channelAccount.findMany({
    where: { channel: { in: [...channels] } },
    select: { tenantId: true, channel: true },
    orderBy: [{ tenantId: 'asc' }, { channel: 'asc' }],
  });
  const registered = new Set(
    (await db.tenant.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.tenantId))] } }, select: { id: true } })).map((t) => t.id),
  );
  return rows.filter((r) => registered.has(r.tenantId));
}
