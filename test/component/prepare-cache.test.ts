import { randomBytes } from 'node:crypto';
import { createPool, type PoolConnection } from 'mariadb';
import { closeDb, createDbOnPool, dbPoolConfig, sqlPool, type Db } from '../../src/infra/db';
import { KeyedPrepareCache } from '../../src/infra/prepare-cache';

/**
 * The service's pool connections find their prepared statements through KeyedPrepareCache (src/infra/prepare-cache.ts)
 * instead of the driver's own cache: these cases hold for both, and say what the replacement must keep.
 * Counted with the connection's own session status, so other suites on the server do not disturb them.
 */
/** The driver's connections carry their cache (connection-promise.js); its typings do not say so. */
const cacheOf = (conn: PoolConnection) => (conn as unknown as { prepareCache: { reset(): void } | null }).prepareCache;

describe("the service's prepared-statement cache", () => {
  let db: Db;
  let conn: PoolConnection;

  beforeEach(async () => {
    // One connection, and room for two statements: the third evicts one.
    const config = { ...dbPoolConfig(process.env.DATABASE_URL!, 1), prepareCacheLength: 2 };
    db = createDbOnPool(createPool(config), config);
    conn = await sqlPool(db).getConnection();
  });

  afterEach(async () => {
    await conn.release();
    await closeDb(db);
  });

  async function counts(): Promise<{ prepared: number; closed: number }> {
    const rows = await conn.query<{ Variable_name: string; Value: string }[]>(
      "SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_close')",
    );
    const get = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value);
    return { prepared: get('Com_stmt_prepare'), closed: get('Com_stmt_close') };
  }
  const run = async (sql: string, value: number) => Number((await conn.execute<{ v: bigint }[]>(sql, [value]))[0].v);

  it('When a connection opens, then it has the keyed cache; a text run twice is prepared once, and answers for its own values', async () => {
    expect(cacheOf(conn)).toBeInstanceOf(KeyedPrepareCache);
    const before = await counts();
    expect([await run('SELECT ? + 0 AS v', 1), await run('SELECT ? + 0 AS v', 2)]).toEqual([1, 2]);
    expect((await counts()).prepared - before.prepared).toBe(1);
  });

  it('When more texts run than the cache holds, then the least recently used is closed on the server and prepared again', async () => {
    const [a, b, c] = ['SELECT ? + 1 AS v', 'SELECT ? + 2 AS v', 'SELECT ? + 3 AS v'];
    const before = await counts();
    const delta = async () => {
      const now = await counts();
      return { prepared: now.prepared - before.prepared, closed: now.closed - before.closed };
    };
    expect([await run(a, 0), await run(b, 0), await run(c, 0)]).toEqual([1, 2, 3]);
    expect(await delta()).toEqual({ prepared: 3, closed: 1 }); // a, the least recently used, is gone from the server
    expect(await run(a, 10)).toBe(11);
    expect(await delta()).toEqual({ prepared: 4, closed: 2 }); // a again; b goes
    expect(await run(c, 10)).toBe(13);
    expect(await delta()).toEqual({ prepared: 4, closed: 2 }); // c was kept
    cacheOf(conn)?.reset(); // as a connection reset does: every statement closed
    expect(await delta()).toEqual({ prepared: 4, closed: 4 });
  });

  it('When the connection changes database, then a text prepared under the old one is prepared again under the new', async () => {
    const names = ['a', 'b'].map((n) => `paysvc_pc_${n}_${randomBytes(4).toString('hex')}`);
    try {
      for (const name of names) {
        await conn.query(`CREATE DATABASE ${name}`);
        await conn.query(`CREATE TABLE ${name}.probe (v INT)`);
        await conn.query(`INSERT INTO ${name}.probe VALUES (${name === names[0] ? 100 : 200})`);
      }
      await conn.query(`USE ${names[0]}`);
      expect(await run('SELECT v + ? AS v FROM probe', 1)).toBe(101);
      await conn.query(`USE ${names[1]}`);
      expect(await run('SELECT v + ? AS v FROM probe', 1)).toBe(201);
    } finally {
      for (const name of names) await conn.query(`DROP DATABASE IF EXISTS ${name}`);
    }
  });
});
