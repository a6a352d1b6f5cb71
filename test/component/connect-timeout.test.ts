import { createConnection } from 'mariadb';
import { dbPoolConfig } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';

/** Holds the event loop for ms, as a loaded machine (or a synchronous module load) does. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

/**
 * CI failed a suite's set-up with "failed to create socket after 1128ms": the driver's 1 s connect timer fires
 * before the socket's connect event when the event loop was held that long, so a connection that had opened was
 * failed. One-off connections (migrations, admin and test connections) now wait up to 10 s.
 */
describe('A one-off connection to MariaDB', () => {
  it('When the event loop is held past the driver default 1 s while it opens, then it still opens', async () => {
    const opening = createConnection(mysqlConnection(process.env.DATABASE_URL!));
    busy(1500);
    const conn = await opening;
    try {
      expect(await conn.query<{ one: number }[]>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await conn.end();
    }
  });

  it('When it is the service pool, then a new connection still gets 2 s at most: the pool must fail fast', () => {
    expect(dbPoolConfig(process.env.DATABASE_URL!, 4).connectTimeout).toBe(2000);
    expect(mysqlConnection(process.env.DATABASE_URL!).connectTimeout).toBe(10_000);
  });
});
