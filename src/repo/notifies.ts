import type { NotifyResult } from '../generated/prisma/enums';
import type { DbOrTx } from './tx';

export interface NotifyLogEntry {
  channel: string;
  tenantId: string;
  notifyId: string;
  payNo: string | null;
  kind: string;
  rawPayload: string;
  headers: Record<string, string>;
  signatureValid: boolean;
  result: NotifyResult;
  detail: string;
}

/** Keeps every notify, whatever became of it. */
export async function recordNotify(db: DbOrTx, e: NotifyLogEntry): Promise<void> {
  await db.notifyRecord.createMany({ data: { ...e, detail: e.detail.slice(0, 512) } });
}

/** The dedupe truth: inserting a second receipt for the same (channel, notify_id) is a unique violation. */
export async function insertReceipt(db: DbOrTx, channel: string, notifyId: string, payNo: string): Promise<void> {
  await db.notifyReceipt.createMany({ data: { channel, notifyId, payNo } });
}

/** The pay_no a notify was applied to, if it was (the channel's id matched byte for byte, trailing spaces too). */
export async function findReceiptPayNo(db: DbOrTx, channel: string, notifyId: string): Promise<string | undefined> {
  const receipt = await db.notifyReceipt.findUnique({ where: { channel_notifyId: { channel, notifyId } } });
  return receipt?.notifyId === notifyId ? receipt.payNo : undefined;
}
