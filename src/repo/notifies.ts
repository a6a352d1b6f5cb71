import type { NotifyRecord } from '../generated/prisma/client';
import type { NotifyResult } from '../generated/prisma/enums';
import type { DbOrTx } from './tx';

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

/** Keeps every notify that reached a tenant's account, whatever became of it. */
export async function recordNotify(db: DbOrTx, e: NotifyLogEntry): Promise<void> {
  await db.notifyRecord.createMany({ data: { ...e, detail: e.detail.slice(0, 512) } });
}

/** The notifies recorded for an order, oldest first, after row id `afterId`, at most `take`. */
export function listNotifiesAfter(db: DbOrTx, payNo: string, afterId: bigint | undefined, take: number): Promise<NotifyRecord[]> {
  return db.notifyRecord.findMany({
    where: { payNo, ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
    orderBy: { id: 'asc' },
    take,
  });
}

export type { NotifyRecord };

/** The dedupe truth: inserting a second receipt for the same notify of the same trade is a unique violation. */
export async function insertReceipt(db: DbOrTx, key: ReceiptKey, payNo: string): Promise<void> {
  await db.notifyReceipt.createMany({ data: { ...key, payNo } });
}

/** Whether this notify was already applied to this trade (the channel's id matched byte for byte, trailing spaces too). */
export async function hasReceipt(db: DbOrTx, key: ReceiptKey): Promise<boolean> {
  const receipt = await db.notifyReceipt.findUnique({ where: { channel_tenantId_attemptNo_notifyId: key } });
  return receipt !== null && receipt.notifyId === key.notifyId;
}
