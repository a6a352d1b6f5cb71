import { Prisma } from '../generated/prisma/client';
import type { EventDelivery, OutboxEvent } from '../generated/prisma/client';
import { sqlPool, type Db } from '../infra/db';
import type { Tx } from './tx';

export type { EventDelivery, OutboxEvent };

/** An event claimed by the relay: what delivering it to its topic needs. */
export interface ClaimedEvent {
  id: string;
  topic: string;
  attempts: number;
  payload: object;
}

/**
 * Claims up to `limit` events not yet handed to the delivery queue, oldest first (and, among events written at
 * the same instant, in order version). SKIP LOCKED lets every worker process run a relay without two of them
 * claiming the same row; the lock lasts until the caller's transaction ends. One statement for the batch.
 */
export async function claimPendingEvents(tx: Tx, limit: number): Promise<ClaimedEvent[]> {
  const rows = await tx.$queryRaw<{ id: string; topic: string; attempts: number; payload: string | object; at: Date; v: bigint }[]>`
    SELECT id, topic, attempts, payload, next_attempt_at AS at, order_version AS v
    FROM outbox_event WHERE status = 'PENDING' ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  // The index orders ties on next_attempt_at by id (a random UUID): two events of one transaction go out in
  // version order instead. A stable sort of an already sorted batch.
  rows.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.v < b.v ? -1 : a.v > b.v ? 1 : 0));
  return rows.map((r) => ({
    id: r.id,
    topic: r.topic,
    attempts: Number(r.attempts),
    payload: typeof r.payload === 'string' ? (JSON.parse(r.payload) as object) : r.payload,
  }));
}

/** Whether any event waits for the relay: one index probe, straight on the driver pool (runs every idle poll). */
export async function hasPendingEvents(db: Db): Promise<boolean> {
  const rows = await sqlPool(db).query<unknown[]>(`SELECT 1 FROM outbox_event WHERE status = 'PENDING' LIMIT 1`);
  return rows.length > 0;
}

export async function markQueued(tx: Tx, ids: string[]): Promise<void> {
  await tx.$executeRaw`
    UPDATE outbox_event SET status = 'QUEUED', next_attempt_at = NOW(3) WHERE id IN (${Prisma.join(ids)}) AND status = 'PENDING'`;
}

/**
 * Records one try of delivering claimed events to their topic queue (one row per event, its target the event's
 * topic) and the events' new state, in the relay's transaction: two statements for any number of events, all
 * with the same attempt number and outcome. Only rows still PENDING (the claimed ones) change. Times go as epoch
 * milliseconds, read by the database in its own zone (as NOW(3)), whichever driver carries the statement.
 */
export async function recordQueueTries(
  tx: Tx,
  ids: string[],
  attempt: number,
  t: { ok: boolean; detail: string; durationMs: number },
  next: { status: 'QUEUED' | 'DELIVERED' | 'DEAD'; lastError: string | null; nextAttemptAt?: Date },
): Promise<void> {
  if (ids.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO event_delivery (event_id, attempt, target, ok, detail, duration_ms)
    SELECT id, ${attempt}, CONCAT('queue:', topic), ${t.ok}, ${t.detail.slice(0, 512)}, ${t.durationMs}
    FROM outbox_event WHERE id IN (${Prisma.join(ids)}) AND status = 'PENDING'`;
  const lastError = next.lastError?.slice(0, 512) ?? null;
  await tx.$executeRaw`
    UPDATE outbox_event SET status = ${next.status}, attempts = ${attempt}, last_error = ${lastError},
      next_attempt_at = COALESCE(FROM_UNIXTIME(${next.nextAttemptAt?.getTime() ?? null} / 1000), next_attempt_at),
      delivered_at = IF(${next.status} = 'DELIVERED', NOW(3), delivered_at)
    WHERE id IN (${Prisma.join(ids)}) AND status = 'PENDING'`;
}

/** What a delivery needs of an event: one read, straight on the driver pool (this runs once per delivery job). */
export type DeliverableEvent = Pick<OutboxEvent, 'id' | 'tenantId' | 'payNo' | 'topic' | 'status' | 'attempts'> & { payload: object };

export async function findEvent(db: Db, id: string): Promise<DeliverableEvent | null> {
  const [row] = await sqlPool(db).query<(Omit<DeliverableEvent, 'payload'> & { payload: string | object })[]>(
    'SELECT id, tenant_id AS tenantId, pay_no AS payNo, topic, status, attempts, payload FROM outbox_event WHERE id = ?',
    [id],
  );
  if (!row) return null;
  return { ...row, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as object) : row.payload };
}

/**
 * Puts an event back to PENDING with a fresh retry schedule, and records the replay among its deliveries
 * (attempt 0, target "replay"), in one transaction.
 */
export async function resetEventForReplay(tx: Tx, id: string, replay: { detail: string; actor: string | null }): Promise<void> {
  const now = new Date();
  await tx.$executeRaw`
    UPDATE outbox_event SET status = 'PENDING', attempts = 0, next_attempt_at = ${now}, delivered_at = NULL WHERE id = ${id}`;
  await tx.$executeRaw`
    INSERT INTO event_delivery (event_id, attempt, target, ok, detail, duration_ms, actor, created_at)
    VALUES (${id}, 0, 'replay', 1, ${replay.detail.slice(0, 512)}, 0, ${replay.actor}, ${now})`;
}

/**
 * Records one delivery try per target, then the event's new state. Two statements on the driver pool and no
 * transaction: this runs once per delivery job, and a crash between them only means the event is delivered again
 * (with the same id, which consumers dedupe), never that a delivery is marked done without having happened.
 */
export async function recordDelivery(
  db: Db,
  eventId: string,
  attempt: number,
  tries: Omit<EventDelivery, 'id' | 'eventId' | 'attempt' | 'createdAt' | 'actor'>[],
  next: { status: 'QUEUED' | 'DELIVERED' | 'DEAD'; lastError: string | null; nextAttemptAt?: Date },
): Promise<boolean> {
  const pool = sqlPool(db);
  await pool.query(
    `INSERT INTO event_delivery (event_id, attempt, target, ok, detail, duration_ms) VALUES ${tries.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
    tries.flatMap((t) => [eventId, attempt, t.target, t.ok, t.detail.slice(0, 512), t.durationMs]),
  );
  const lastError = next.lastError?.slice(0, 512) ?? null;
  const updated = await pool.query<{ affectedRows: number }>(
    `UPDATE outbox_event SET status = ?, attempts = ?, last_error = ?, next_attempt_at = COALESCE(FROM_UNIXTIME(? / 1000), next_attempt_at),
       delivered_at = IF(? = 'DELIVERED', NOW(3), delivered_at)
     WHERE id = ? AND status IN ('PENDING', 'QUEUED')`,
    [next.status, attempt, lastError, next.nextAttemptAt?.getTime() ?? null, next.status, eventId],
  );
  return updated.affectedRows === 1;
}

/** Queued events whose (re)try is long overdue: their job was lost (a Redis flush, a removed job). */
export async function findStaleQueuedEvents(db: Db, olderThan: Date, limit: number): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT id FROM outbox_event WHERE status = 'QUEUED' AND next_attempt_at < ${olderThan} ORDER BY next_attempt_at LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

export async function touchQueued(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`UPDATE outbox_event SET next_attempt_at = NOW(3) WHERE id IN (${Prisma.join(ids)}) AND status = 'QUEUED'`;
}

/** Counts by status and the age of the oldest undelivered event, for the metrics. */
export async function outboxBacklog(db: Db): Promise<{ counts: Record<string, number>; oldest: Date | null }> {
  const counts = await db.$queryRaw<{ status: string; n: bigint }[]>`
    SELECT status, COUNT(*) AS n FROM outbox_event WHERE status IN ('PENDING', 'QUEUED', 'DEAD') GROUP BY status`;
  const [oldest] = await db.$queryRaw<{ t: Date | null }[]>`
    SELECT MIN(created_at) AS t FROM outbox_event WHERE status IN ('PENDING', 'QUEUED')`;
  return { counts: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])), oldest: oldest?.t ?? null };
}

export async function listOrderEvents(db: Db, payNo: string): Promise<(OutboxEvent & { deliveries: EventDelivery[] })[]> {
  const events = await db.outboxEvent.findMany({ where: { payNo }, orderBy: [{ orderVersion: 'asc' }, { id: 'asc' }] });
  return withDeliveries(db, events);
}

/** Up to `take` events of an order after the given (order version, id), in that order, with their deliveries. */
export async function listOrderEventsAfter(
  db: Db,
  payNo: string,
  after: { orderVersion: bigint; id: string } | undefined,
  take: number,
): Promise<(OutboxEvent & { deliveries: EventDelivery[] })[]> {
  const keyset = after
    ? { OR: [{ orderVersion: { gt: after.orderVersion } }, { orderVersion: after.orderVersion, id: { gt: after.id } }] }
    : {};
  const events = await db.outboxEvent.findMany({ where: { payNo, ...keyset }, orderBy: [{ orderVersion: 'asc' }, { id: 'asc' }], take });
  return withDeliveries(db, events);
}

async function withDeliveries(db: Db, events: OutboxEvent[]): Promise<(OutboxEvent & { deliveries: EventDelivery[] })[]> {
  const deliveries = events.length
    ? await db.eventDelivery.findMany({ where: { eventId: { in: events.map((e) => e.id) } }, orderBy: { id: 'asc' } })
    : [];
  return events.map((e) => ({ ...e, deliveries: deliveries.filter((d) => d.eventId === e.id) }));
}
