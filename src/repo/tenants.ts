import type { Db } from '../infra/db';
import type { Tenant } from '../generated/prisma/client';

export type { Tenant };

export function findTenant(db: Db, id: string): Promise<Tenant | null> {
  return db.tenant.findUnique({ where: { id } });
}

export function listTenants(db: Db): Promise<Tenant[]> {
  return db.tenant.findMany({ orderBy: { id: 'asc' } });
}

/**
 * Registers a tenant, or changes a registered one. On insert a missing name is the id; on update what is not
 * given stays as it was.
 */
export async function upsertTenant(db: Db, row: { id: string; name?: string }): Promise<{ tenant: Tenant; created: boolean }> {
  const existing = await findTenant(db, row.id);
  const tenant = await db.tenant.upsert({
    where: { id: row.id },
    create: { id: row.id, name: row.name ?? row.id },
    update: { name: row.name },
  });
  return { tenant, created: existing === null };
}
