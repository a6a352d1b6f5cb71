import type { Db } from '../infra/db';
import type { ChannelAccount as ChannelAccountRow } from '../generated/prisma/client';

export type { ChannelAccountRow };

export function findChannelAccount(db: Db, tenantId: string, channel: string): Promise<ChannelAccountRow | null> {
  return db.channelAccount.findUnique({ where: { tenantId_channel: { tenantId, channel } } });
}

/** The ids of the tenants with an account at `channel`. */
export async function tenantsWithChannelAccount(db: Db, channel: string): Promise<Set<string>> {
  const rows = await db.channelAccount.findMany({ where: { channel }, select: { tenantId: true } });
  return new Set(rows.map((r) => r.tenantId));
}

/** Deletes the tenant's account at `channel`; false when it had none. */
export async function deleteChannelAccount(db: Db, tenantId: string, channel: string): Promise<boolean> {
  const { count } = await db.channelAccount.deleteMany({ where: { tenantId, channel } });
  return count > 0;
}

/** Inserts the account, or replaces it (a rotation) and bumps its version. */
export async function upsertChannelAccount(
  db: Db,
  row: Pick<ChannelAccountRow, 'tenantId' | 'channel' | 'appId' | 'merchantId' | 'settings' | 'secrets' | 'keyId'>,
): Promise<ChannelAccountRow> {
  const data = { ...row, settings: row.settings as object };
  return db.channelAccount.upsert({
    where: { tenantId_channel: { tenantId: row.tenantId, channel: row.channel } },
    create: data,
    update: { ...data, version: { increment: 1 } },
  });
}
