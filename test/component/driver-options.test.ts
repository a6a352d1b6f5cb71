import { closeDb, createDb, sqlPool } from '../../src/infra/db';
import { hasFastProperties } from '../support/v8-layout';

/**
 * The mariadb driver copies a connection's options into a fresh object for every statement that brings options of
 * its own (every Prisma query; Query's rowsAsArray read). Left as the driver builds them (a hash table), that copy
 * was ~14 µs of each Query's CPU; the service's pool gives every connection's options fast properties.
 */
describe("the service's pool", () => {
  it('When a connection opens, then its options have fast properties', async () => {
    const db = createDb(process.env.DATABASE_URL!, 2);
    const opened: { opts: object }[] = [];
    sqlPool(db).on('connection', (conn) => opened.push(conn as unknown as { opts: object })); // after the service's own listener
    try {
      await sqlPool(db).query({ sql: 'SELECT 1', rowsAsArray: true });
      expect(opened.length).toBeGreaterThan(0);
      for (const conn of opened) expect(hasFastProperties(conn.opts)).toBe(true);
    } finally {
      await closeDb(db);
    }
  });
});
