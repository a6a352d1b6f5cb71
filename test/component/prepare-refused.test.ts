import { rmSync } from 'node:fs';
import { createConnection, type Connection, type Pool, type SqlError } from 'mariadb';
import { closeDb, createDb, sqlPool, type Db } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { freePort, makeRunDir } from '../chaos/processes';
import { PrivateMariaDb } from '../chaos/stores';

/**
 * max_prepared_stmt_count is one limit for the whole server, so these tests run on a server of their own: lowering it
 * on the shared one would fail every other suite's statements meanwhile. Before the fix (src/infra/mariadb-prepare-fix.ts)
 * a refused PREPARE had its pipelined EXECUTE (statement id −1) run the connection's previous prepared statement.
 */
describe('a PREPARE the server refuses (max_prepared_stmt_count reached)', () => {
  let dir: string;
  let server: PrivateMariaDb;
  let admin: Connection;
  let db: Db;
  let pool: Pool;

  beforeAll(async () => {
    dir = makeRunDir(); // marked with this runner, so a later chaos run reaps its mariadbd if this one is killed
    server = new PrivateMariaDb(dir, await freePort());
    await server.init();
    admin = await createConnection(mysqlConnection(server.url));
    await admin.query('CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)');
    await admin.query('CREATE TABLE u (id INT PRIMARY KEY, v INT NOT NULL)');
    db = createDb(server.url, 1); // one connection: every statement shares its prepared statements
    pool = sqlPool(db);
  }, 120_000);

  afterAll(async () => {
    try {
      if (db) await closeDb(db);
      await admin?.end();
    } finally {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  beforeEach(async () => {
    await admin.query('SET GLOBAL max_prepared_stmt_count = DEFAULT');
    await admin.query('DELETE FROM t');
    await admin.query('DELETE FROM u');
    await admin.query('INSERT INTO t VALUES (1, 0), (2, 0)');
  });

  afterEach(() => admin?.query('SET GLOBAL max_prepared_stmt_count = DEFAULT'));

  /** No statement can be prepared on the server from now on (those prepared stay usable). */
  async function refuseNewPrepares(): Promise<void> {
    const [{ n }] = await admin.query<{ n: string }[]>(
      "SELECT VARIABLE_VALUE AS n FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'PREPARED_STMT_COUNT'",
    );
    await admin.query(`SET GLOBAL max_prepared_stmt_count = ${Number(n)}`);
  }

  const rows = async (table: 't' | 'u') =>
    (await admin.query<{ id: number; v: number }[]>(`SELECT id, v FROM ${table} ORDER BY id`)).map((r) => [r.id, r.v]);

  it('When the refused statement is a write, then it fails with 1461 and the statement prepared before it does not run', async () => {
    await pool.execute('UPDATE t SET v = ? WHERE id = ?', [5, 1]);
    await refuseNewPrepares();

    await expect(pool.execute('INSERT INTO u (v, id) VALUES (?, ?)', [99, 2])).rejects.toMatchObject({ errno: 1461 });
    // The connection's next statement is answered after anything the refused one sent: nothing else ran.
    expect(await pool.execute('UPDATE t SET v = ? WHERE id = ?', [6, 1])).toMatchObject({ affectedRows: 1 });
    expect(await rows('t')).toEqual([
      [1, 6],
      [2, 0],
    ]);
    expect(await rows('u')).toEqual([]);
  });

  it('When the refused statement is a read, then it fails with 1461 and the connection goes on answering', async () => {
    expect(await pool.execute('SELECT v FROM t WHERE id = ?', [1])).toEqual([{ v: 0 }]);
    await refuseNewPrepares();

    const refused = await pool.execute('SELECT id FROM u WHERE v = ?', [0]).catch((err: SqlError) => err);
    expect(refused).toMatchObject({ errno: 1461 });
    expect(await pool.execute('SELECT v FROM t WHERE id = ?', [2])).toEqual([{ v: 0 }]);

    await admin.query('SET GLOBAL max_prepared_stmt_count = DEFAULT');
    expect(await pool.execute('SELECT id FROM u WHERE v = ?', [0])).toEqual([]);
  });

  it('When statements are issued behind a refused one without waiting, then each gets its own answer and only they run', async () => {
    await pool.execute('UPDATE t SET v = v + ? WHERE id = ?', [1, 1]); // prepared: a cache hit from now on
    await refuseNewPrepares();
    const conn = await pool.getConnection();
    try {
      const [refused, hit, text] = await Promise.allSettled([
        conn.execute('INSERT INTO u (v, id) VALUES (?, ?)', [99, 2]),
        conn.execute('UPDATE t SET v = v + ? WHERE id = ?', [10, 1]),
        conn.query('SELECT id, v FROM t ORDER BY id'),
      ]);
      expect(refused).toMatchObject({ status: 'rejected', reason: { errno: 1461 } });
      expect(hit).toMatchObject({ status: 'fulfilled', value: { affectedRows: 1 } });
      expect(text).toMatchObject({
        status: 'fulfilled',
        value: [
          { id: 1, v: 11 },
          { id: 2, v: 0 },
        ],
      });
    } finally {
      await conn.release();
    }
    expect(await rows('u')).toEqual([]);
  });

  it('When a statement not yet prepared is followed at once by prepared ones, then they run in the order issued', async () => {
    await pool.execute('UPDATE t SET v = v + ? WHERE id = ?', [1, 1]); // v = 1, and prepared
    const conn = await pool.getConnection();
    try {
      // Times ten, then plus one: 11 in order; 20 if the prepared one overtook the PREPARE of the first.
      await Promise.all([
        conn.execute('UPDATE t SET v = v * ? WHERE id = ?', [10, 1]),
        conn.execute('UPDATE t SET v = v + ? WHERE id = ?', [1, 1]),
      ]);
    } finally {
      await conn.release();
    }
    expect(await rows('t')).toEqual([
      [1, 11],
      [2, 0],
    ]);
  });

  it('When the connection dies while an EXECUTE waits for its PREPARE, then it and everything issued behind it fail', async () => {
    await pool.execute('SELECT v FROM t WHERE id = ?', [1]); // prepared: a cache hit from now on
    const conn = await pool.getConnection();
    const issued = [
      conn.query('SELECT SLEEP(30)'), // the PREPARE behind it waits for it; the KILL ends both
      conn.execute(`SELECT v, ${Date.now()} FROM t WHERE id = ?`, [1]), // a text not prepared yet: its EXECUTE is held
      conn.query('SELECT 3'),
      conn.execute('SELECT v FROM t WHERE id = ?', [2]),
    ];
    await admin.query(`KILL CONNECTION ${conn.threadId}`);
    const outcomes = await Promise.allSettled(issued);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    await conn.release().catch(() => undefined);
    expect(await pool.execute('SELECT v FROM t WHERE id = ?', [2])).toEqual([{ v: 0 }]); // a new connection serves
  });

  it('When a held EXECUTE cannot encode its values, then its caller gets the error and the connection answers on', async () => {
    const conn = await pool.getConnection();
    try {
      const [thrown, next] = await Promise.allSettled([
        conn.execute(`SELECT ${Date.now()} + ? AS n`, [{ big: 1n }]), // JSON.stringify throws on a bigint
        conn.execute('SELECT v FROM t WHERE id = ?', [1]),
      ]);
      expect(thrown).toMatchObject({ status: 'rejected', reason: expect.any(TypeError) });
      expect(next).toEqual({ status: 'fulfilled', value: [{ v: 0 }] });
      expect(await conn.query('SELECT 4 AS four')).toEqual([{ four: 4 }]);
    } finally {
      await conn.release();
    }
  });

  it('When a statement is in the connection cache, then it is executed without a new PREPARE, even while others are unanswered', async () => {
    const prepares = async () => {
      const [row] = await pool.query<{ Value: string }[]>("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'");
      return Number(row.Value);
    };
    await pool.execute('SELECT v FROM t WHERE id = ?', [1]);
    const before = await prepares();
    const conn = await pool.getConnection();
    try {
      const answers = await Promise.all([1, 2, 1, 2].map((id) => conn.execute('SELECT v FROM t WHERE id = ?', [id])));
      expect(answers).toEqual([[{ v: 0 }], [{ v: 0 }], [{ v: 0 }], [{ v: 0 }]]);
    } finally {
      await conn.release();
    }
    expect(await prepares()).toBe(before);
  });
});
