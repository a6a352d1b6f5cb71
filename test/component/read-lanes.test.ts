import { createConnection } from 'mariadb';
import { ConnectionGate } from '../../src/infra/connection-gate';
import { closeDb, connectionGate, createDb, sqlPool, type Db } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { ReadLanes } from '../../src/repo/read-lanes';
import { sqlOf } from '../../src/repo/sql';
import { eventually } from '../support/harness';

/**
 * Point reads share a few pipelined connections (read-lanes.ts). What must hold: every read gets its own answer,
 * a failure stays with its read or its connection, and every connection and gate permit goes back.
 */
const POOL = 4;
let db: Db;
beforeAll(() => {
  db = createDb(process.env.DATABASE_URL!, POOL);
});
afterAll(() => closeDb(db));

type Row = [unknown, number];
const read = (lanes: ReadLanes, sql: string, args: unknown[] = []) => lanes.execute<Row[]>({ sql, rowsAsArray: true }, args);

/** All lanes closed, every permit and connection back. */
async function settled(lanes: ReadLanes, gate: ConnectionGate): Promise<void> {
  await eventually(async () => lanes.open === 0 && gate.available === gate.size && sqlPool(db).activeConnections() === 0);
}

describe('read lanes', () => {
  it('When 20 reads are in flight at once, then each gets its own answer over at most two connections, and all go back', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 4, 2);

    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => read(lanes, 'SELECT ?, CONNECTION_ID()', [`read-${i}`])));

    expect(answers.map(([[value]]) => value)).toEqual(Array.from({ length: 20 }, (_, i) => `read-${i}`));
    const connections = new Set(answers.map(([[, id]]) => id));
    expect(connections.size).toBeGreaterThanOrEqual(1);
    expect(connections.size).toBeLessThanOrEqual(2);
    await settled(lanes, gate);
  });

  it('When one read fails on its own, then the reads beside it on its lane still answer', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);

    const [before, failed, after] = await Promise.allSettled([
      read(lanes, 'SELECT ?, CONNECTION_ID()', ['before']),
      read(lanes, 'SELECT pay_no, 1 FROM no_such_table WHERE pay_no = ?', ['x']),
      read(lanes, 'SELECT ?, CONNECTION_ID()', ['after']),
    ]);

    expect(before).toMatchObject({ status: 'fulfilled', value: [['before', expect.any(Number)]] });
    expect(failed).toMatchObject({ status: 'rejected', reason: { errno: 1146 } }); // ER_NO_SUCH_TABLE
    expect(after).toMatchObject({ status: 'fulfilled', value: [['after', expect.any(Number)]] });
    await settled(lanes, gate);
  });

  it('When its connection is killed under it, then the read on it fails, and the next read goes over a new connection', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);
    const admin = await createConnection(mysqlConnection(process.env.DATABASE_URL!));
    try {
      // Both on the one lane, in order: the first says which connection it is, the second is still running.
      const first = read(lanes, 'SELECT ?, CONNECTION_ID()', ['first']);
      const stuck = read(lanes, 'SELECT SLEEP(60), CONNECTION_ID()');
      const [[, laneConnection]] = await first;
      await eventually(async () => {
        const [row] = await admin.query<{ n: bigint }[]>(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'`,
          [laneConnection],
        );
        return Number(row.n) === 1;
      });
      await admin.query(`KILL CONNECTION ${laneConnection}`);

      await expect(stuck).rejects.toMatchObject({ fatal: true });
      const [[value, next]] = await read(lanes, 'SELECT ?, CONNECTION_ID()', ['next']);
      expect(value).toBe('next');
      expect(next).not.toBe(laneConnection);
      await settled(lanes, gate);
    } finally {
      await admin.end();
    }
  });

  it('When no gate permit comes in time, then the read fails as a busy pool does (45028) and holds nothing', async () => {
    const gate = new ConnectionGate(1, 100);
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);
    expect(gate.enter()).toBeUndefined(); // someone else holds the only permit

    await expect(read(lanes, 'SELECT ?, CONNECTION_ID()', ['late'])).rejects.toMatchObject({ errno: 45028 });

    gate.leave();
    await settled(lanes, gate);
    const [[value]] = await read(lanes, 'SELECT ?, CONNECTION_ID()', ['then']); // the failed lane is not reused
    expect(value).toBe('then');
    await settled(lanes, gate);
  });

  it("When the service's runner makes a point read, then it goes over a lane and is counted", async () => {
    const before = sqlOf(db).statements;
    const [[value]] = await sqlOf(db).pointReadArrays<Row[]>('SELECT ?, CONNECTION_ID()', ['counted']);
    expect(value).toBe('counted');
    expect(sqlOf(db).statements).toBe(before + 1);
    await eventually(async () => sqlPool(db).activeConnections() === 0 && connectionGate(db)!.available === POOL);
  });
});
