import type { Db } from '../../src/infra/db';

/**
 * Every table of the test database (but Prisma's migrations) with the WHERE clause that picks the rows belonging to
 * `tenants` tenants, given as that many parameters: by tenant_id, the tenant's own row, its orders' pay_no, its
 * events' id. Loud for a table it cannot scope, so a new table is taught here rather than silently left out.
 */
export async function tenantScopedTables(db: Db, tenants: number): Promise<Array<{ table: string; where: string }>> {
  const marks = Array(tenants).fill('?').join(', ');
  const tables = await db.$queryRawUnsafe<{ t: string }[]>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> '_prisma_migrations' ORDER BY 1`,
  );
  const scoped: Array<{ table: string; where: string }> = [];
  for (const { t } of tables) {
    const cols = (
      await db.$queryRawUnsafe<{ c: string }[]>(
        `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?`,
        t,
      )
    ).map((r) => r.c);
    const where = cols.includes('tenant_id')
      ? `tenant_id IN (${marks})`
      : t === 'tenant'
        ? `id IN (${marks})`
        : cols.includes('pay_no')
          ? `pay_no IN (SELECT pay_no FROM pay_order WHERE tenant_id IN (${marks}))`
          : cols.includes('event_id')
            ? `event_id IN (SELECT id FROM outbox_event WHERE tenant_id IN (${marks}))`
            : undefined;
    if (!where) throw new Error(`table ${t} has no tenant_id, pay_no or event_id: teach tenantScopedTables how to scope it`);
    scoped.push({ table: t, where });
  }
  return scoped;
}
