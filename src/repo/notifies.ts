import type { Db } from '../infra/db';
import type { NotifyRecord } from '../generated/prisma/client';
import type { NotifyResult } from '../generated/prisma/enums';
import type { PayAttempt } from '../generated/prisma/client';
import { PAY_ATTEMPT_COLUMNS, toPayAttempt, type PayAttemptRow } from './rows';
import { groupInsert, insertText, type GroupInsertSpec } from './group-insert';
import { sqlFor, Tx, type Queryable } from './tx';

export interface NotifyLogEntry {
  channel: string;
  tenantId: string;
  notifyId: string;
  payNo: string | null;
  kind: string;
  /** The whole body of a verified notify; the first bytes of anything else (payloadBytes and the digest say the rest). */
  rawPayload: string;
  payloadBytes: number;
  payloadSha256: string;
  headers: Record<string, string>;
  signatureValid: boolean;
  result: NotifyResult;
  detail: string;
}

/** Which trade a receipt deduplicates notifies for: a notify id means nothing outside its tenant and trade. */
export interface ReceiptKey {
  channel: string;
  tenantId: string;
  attemptNo: string;
  notifyId: string;
}

const RECORD: GroupInsertSpec<NotifyLogEntry> = {
  head: `INSERT INTO notify_record (channel, tenant_id, notify_id, pay_no, kind, raw_payload, payload_bytes, payload_sha256,
    headers, signature_valid, result, detail, created_at) VALUES`,
  row: '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  args: (e) => [
    e.channel,
    e.tenantId,
    e.notifyId,
    e.payNo,
    e.kind,
    e.rawPayload,
    e.payloadBytes,
    e.payloadSha256,
    JSON.stringify(e.headers),
    e.signatureValid ? 1 : 0,
    e.result,
    e.detail.slice(0, 512),
    new Date(),
  ],
  // A verified body is up to 64 KiB: a statement stays far under max_allowed_packet.
  maxRows: 64,
  maxInFlight: 4,
  maxChars: 1 << 20,
};
const RECORD_ONE = insertText(RECORD, 1);
const recordGrouped = groupInsert(RECORD);

/**
 * Keeps every notify that reached a tenant's account, whatever became of it: in a transaction, with its writes;
 * outside one (a duplicate, a refused notify), group-committed with the records written at the same moment
 * (group-insert.ts: under load a duplicate costs a share of a round trip instead of one). The promise settles when
 * this row is committed (with its transaction, in one), or with this row's own error.
 */
export async function recordNotify(db: Queryable, e: NotifyLogEntry): Promise<void> {
  if (db instanceof Tx) await db.query(RECORD_ONE, RECORD.args(e));
  else await recordGrouped(db, e);
}

/** The notifies recorded for an order, oldest first, after row id `afterId`, at most `take`. */
export function listNotifiesAfter(db: Db, payNo: string, afterId: bigint | undefined, take: number): Promise<NotifyRecord[]> {
  return db.notifyRecord.findMany({
    where: { payNo, ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
    orderBy: { id: 'asc' },
    take,
  });
}

export type { NotifyRecord };

/** The dedupe truth: inserting a second receipt for the same notify of the same trade is a unique violation. */
export async function insertReceipt(db: Queryable, key: ReceiptKey, payNo: string): Promise<void> {
  await sqlFor(db).$executeRaw`
    INSERT INTO notify_receipt (channel, tenant_id, attempt_no, notify_id, pay_no, created_at)
    VALUES (${key.channel}, ${key.tenantId}, ${key.attemptNo}, ${key.notifyId}, ${payNo}, ${new Date()})`;
}

/** Whether this notify was already applied to this trade (the channel's id matched byte for byte, trailing spaces too). */
export async function hasReceipt(db: Queryable, key: ReceiptKey): Promise<boolean> {
  const [receipt] = await sqlFor(db).$queryRaw<{ notify_id: string }[]>`
    SELECT notify_id FROM notify_receipt
     WHERE channel = ${key.channel} AND tenant_id = ${key.tenantId} AND attempt_no = ${key.attemptNo} AND notify_id = ${key.notifyId}`;
  return receipt !== undefined && receipt.notify_id === key.notifyId;
}

/** How many receipts a process remembers per pool (~150 bytes each), the oldest forgotten first. */
const RECEIPTS_REMEMBERED = 10_000;

/**
 * Receipts this process saw committed: written by its own applying transaction, or read. A receipt is never
 * changed or deleted, so one seen here exists in the database: a notify re-delivered with exactly its key (every
 * part compared as a JS string, byte for byte) was applied, and is answered without a read. Anything else (a
 * receipt another instance wrote, one forgotten) is read as before.
 */
class SeenReceipts {
  private readonly payNos = new Map<string, string>();

  get(key: ReceiptKey): string | undefined {
    return this.payNos.get(receiptKeyText(key));
  }

  add(key: ReceiptKey, payNo: string): void {
    const text = receiptKeyText(key);
    this.payNos.delete(text); // re-inserted as the newest
    this.payNos.set(text, payNo);
    if (this.payNos.size > RECEIPTS_REMEMBERED) this.payNos.delete(this.payNos.keys().next().value!);
  }
}

const receiptKeyText = (k: ReceiptKey) => JSON.stringify([k.channel, k.tenantId, k.attemptNo, k.notifyId]);
const seenReceipts = new WeakMap<Db, SeenReceipts>();

/** The order (pay_no) of the trade this notify's receipt is on, if this process saw that receipt committed. */
export function seenReceipt(db: Db, key: ReceiptKey): string | undefined {
  return seenReceipts.get(db)?.get(key);
}

/** Remembers a receipt seen committed (never one written in a transaction still open). */
export function rememberReceipt(db: Db, key: ReceiptKey, payNo: string): void {
  let seen = seenReceipts.get(db);
  if (!seen) {
    seen = new SeenReceipts();
    seenReceipts.set(db, seen);
  }
  seen.add(key, payNo);
}

/**
 * The trade a verified notify names, and whether this very notify was already applied to it, in one statement:
 * the attempt numbered exactly `attemptNo` (compared again byte for byte: utf8mb4_bin ignores trailing spaces) and
 * its receipt for (channel, tenant, notify id), if any. Null when there is no such attempt.
 */
export async function findNotifiedAttempt(
  db: Queryable,
  attemptNo: string,
  key: Omit<ReceiptKey, 'attemptNo'>,
): Promise<{ attempt: PayAttempt; applied: boolean } | null> {
  const [row] = await sqlFor(db).pointRead<(PayAttemptRow & { receipt_notify_id: string | null })[]>(NOTIFIED_ATTEMPT, [
    key.channel,
    key.tenantId,
    key.notifyId,
    attemptNo,
  ]);
  if (row?.attempt_no !== attemptNo) return null;
  return { attempt: toPayAttempt(row), applied: row.receipt_notify_id === key.notifyId };
}

const NOTIFIED_ATTEMPT = `SELECT ${PAY_ATTEMPT_COLUMNS.split(', ')
  .map((c) => `a.${c}`)
  .join(', ')},
    (SELECT r.notify_id FROM notify_receipt r
      WHERE r.channel = ? AND r.tenant_id = ? AND r.attempt_no = a.attempt_no AND r.notify_id = ?) AS receipt_notify_id
  FROM pay_attempt a WHERE a.attempt_no = ?`;
