import type { ChannelAccount as ChannelAccountRow } from '../generated/prisma/client';
import type { DbOrTx } from './tx';

export type { ChannelAccountRow };

export function findChannelAccount(db: DbOrTx, tenantId: string, channel: string): Promise<ChannelAccountRow | null> {
  return db.channelAccount.findUnique({ where: { tenantId_channel: { tenantId, channel } } });
}

/** Inserts the account, or replaces it (a rotation) and bumps its version. */
export async function upsertChannelAccount(
  db: DbOrTx,
  row: Pick<ChannelAccountRow, 'tenantId' | 'channel' | 'appId' | 'merchantId' | 'settings' | 'secrets' | 'keyId'>,
): Promise<ChannelAccountRow> {
  const data = { ...row, settings: row.settings as object };
  return db.channelAccount.upsert({
    where: { tenantId_channel: { tenantId: row.tenantId, channel: row.channel } },
    create: data,
    update: { ...data, version: { increment: 1 } },
  });
}
