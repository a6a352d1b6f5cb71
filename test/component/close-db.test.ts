import { closeDb, createDb, sqlPool } from '../../src/infra/db';
import { sqlOf } from '../../src/repo/sql';

describe('closing the database client', () => {
  it('When a client only ever ran statements on the driver pool, then closeDb still closes that pool', async () => {
    const db = createDb(process.env.DATABASE_URL!, 2);
    const [row] = await sqlOf(db).query<{ one: number }[]>('SELECT 1 AS one', []);
    expect(row?.one).toBe(1);
    await closeDb(db);
    // Prisma's $disconnect alone leaves it open: Prisma never connected, so its adapter never took the pool.
    expect(sqlPool(db).closed).toBe(true);
  });

  it('When Prisma also ran a query, then closeDb closes the pool once and does not fail', async () => {
    const db = createDb(process.env.DATABASE_URL!, 2);
    await db.$queryRaw`SELECT 1`;
    await sqlOf(db).query('SELECT 1', []);
    await closeDb(db);
    expect(sqlPool(db).closed).toBe(true);
  });
});
