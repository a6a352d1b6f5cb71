import { createConnection, createPool, type Connection } from 'mariadb';
import { ConnectionGate } from '../../src/infra/connection-gate';
import { closeDb, connectionGate, createDb, createDbOnPool, dbPoolConfig, socketOf, sqlPool, type Db } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { ReadLanes } from '../../src/repo/read-lanes';
import { sqlOf } from '../../src/repo/sql';
import { eventually } from '../support/harness';
import { recordWrites } from '../support/socket-writes';

/**
 * Point reads share a few pipelined connections (read-lanes.ts). What must hold: every read gets its own answer,
 * a failure stays with its read (or is retried once when the lane's connection died), lanes never take a permit
 * from someone waiting for one, and every connection and gate permit goes back.
 */
const POOL = 4;
let db: Db;
let admin: Connection;
beforeAll(async () => {
  db = createDb(process.env.DATABASE_URL!, POOL);
  admin = await createConnection(mysqlConnection(process.env.DATABASE_URL!));
});
afterAll(async () => {
  await admin.end();
  await closeDb(db);
});

type Row = [unknown, number];
const read = (lanes: ReadLanes, sql: string, args: unknown[] = []) => lanes.execute<Row[]>({ sql, rowsAsArray: true }, args);
const idOf = (p: Promise<Row[]>) => p.then(([[, id]]) => id);

/** All lanes closed, every permit and connection back. */
async function settled(lanes: ReadLanes, gate: ConnectionGate): Promise<void> {
  await eventually(async () => lanes.open === 0 && gate.available === gate.size && sqlPool(db).activeConnections() === 0);
}

/** The session waiting in GET_LOCK for this lock, once there is one (its statement is then in the server). */
const waitingFor = (lock: string) =>
  eventually(async () => {
    const [row] = await admin.query<{ id: bigint }[]>(
      `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT GET_LOCK%' AND INFO LIKE ?`,
      [`%${lock}%`],
    );
    return row ? Number(row.id) : undefined;
  });

/** Runs fn while the admin session holds a lock of this name (a read asking for it waits in the server); releases it. */
async function holdingLock(name: string, fn: (lock: string, release: () => Promise<unknown>) => Promise<void>): Promise<void> {
  const lock = `${name}-${process.pid}`;
  await admin.query('SELECT GET_LOCK(?, 10)', [lock]);
  const release = () => admin.query('SELECT RELEASE_LOCK(?)', [lock]);
  try {
    await fn(lock, release);
  } finally {
    await release();
  }
}

/** How many COM_STMT_EXECUTE commands a socket write carried (MySQL packets: 3-byte length, sequence, command). */
function executes(write: Buffer): number {
  let n = 0;
  for (let at = 0; at + 4 < write.length; at += 4 + write.readUIntLE(at, 3)) {
    if (write[at + 3] === 0 && write[at + 4] === 0x17) n++;
  }
  return n;
}

/** A read that goes alone (no other read is in flight) and so lets the reads issued after it open a lane. */
const pilot = (lanes: ReadLanes) => read(lanes, 'SELECT ?, CONNECTION_ID()', ['pilot']);

/** GET_LOCK's text names the lock inline (so the processlist shows it); one text per lock. */
const lockRead = (lanes: ReadLanes, lock: string) => read(lanes, `SELECT GET_LOCK('${lock}', 60), CONNECTION_ID()`);

describe('read lanes', () => {
  it('When 20 reads are in flight at once, then they share two lanes and each gets its own answer', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 4, 2);

    const pending = Array.from({ length: 20 }, (_, i) => read(lanes, 'SELECT ?, CONNECTION_ID()', [`read-${i}`]));
    expect(lanes.open).toBe(2); // opened at once, while every read was still unanswered
    const answers = await Promise.all(pending);

    expect(answers.map(([[value]]) => value)).toEqual(Array.from({ length: 20 }, (_, i) => `read-${i}`));
    // The first went alone (nothing to share with yet), the other 19 over two lanes: three connections at most
    // (fewer when a connection one gave back was borrowed again by the next).
    expect(new Set(answers.map(([[, id]]) => id)).size).toBeLessThanOrEqual(3);
    await settled(lanes, gate);
  });

  it('When reads are sent to a lane in one turn, then they leave in one socket write', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);
    const text = 'SELECT ?, CONNECTION_ID()';
    // Prepared on every connection first (a miss waits for its PREPARE's answer before its EXECUTE goes), and each
    // connection's socket recorded.
    const conns = await Promise.all(Array.from({ length: POOL }, () => sqlPool(db).getConnection()));
    await Promise.all(conns.map((c) => c.execute({ sql: text, rowsAsArray: true }, ['warm'])));
    const recorders = conns.map((c) => recordWrites(socketOf(c)!));
    await Promise.all(conns.map((c) => c.release()));

    try {
      // The first goes alone; the eight after it share the one lane, sent in the same turn.
      const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => read(lanes, text, [`read-${i}`])));

      expect(answers.map(([[value]]) => value)).toEqual(Array.from({ length: 9 }, (_, i) => `read-${i}`));
      const executesPerWrite = recorders.flatMap((r) => r.writes.map(executes)).filter((n) => n > 0);
      expect(executesPerWrite.reduce((a, b) => a + b, 0)).toBe(9);
      expect(Math.max(...executesPerWrite)).toBe(8);
    } finally {
      recorders.forEach((r) => r.stop());
    }
    await settled(lanes, gate);
  });

  it('When different texts, some prepared on the connection and some not, share a lane, then each answers its own', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 16, 1);
    const named = (n: number) => lanes.execute<{ v: string }[]>(`SELECT ? AS v, ${n} AS n`, [`named-${n}`]);

    const answers = await Promise.all([
      read(lanes, 'SELECT ?, CONNECTION_ID()', ['a']),
      named(1),
      read(lanes, 'SELECT CONCAT(?, ?), CONNECTION_ID()', ['b', 'c']),
      named(2),
      read(lanes, 'SELECT ?, CONNECTION_ID()', ['d']),
      named(1),
    ]);

    expect(answers.map((rows) => (Array.isArray(rows[0]) ? rows[0][0] : rows[0].v))).toEqual([
      'a',
      'named-1',
      'bc',
      'named-2',
      'd',
      'named-1',
    ]);
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

  it("When the lane's connection is killed under its reads, then each is answered over another connection, and later reads open a new lane", async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);
    await holdingLock('lanes-kill', async (lock, release) => {
      // Behind a pilot, both on one lane: the first waits for the admin's lock, the second is queued behind it.
      const alone = pilot(lanes);
      const blockedId = idOf(lockRead(lanes, lock));
      const queued = read(lanes, 'SELECT ?, CONNECTION_ID()', ['queued']);
      expect(lanes.open).toBe(1);
      await alone;
      const laneId = await waitingFor(lock);
      await admin.query(`KILL CONNECTION ${laneId}`);
      const after = read(lanes, 'SELECT ?, CONNECTION_ID()', ['after']); // sent once the lane is known to be dead
      await release();

      const [[queuedValue, queuedId]] = await queued;
      expect(queuedValue).toBe('queued');
      expect(queuedId).not.toBe(laneId);
      expect(await blockedId).not.toBe(laneId);
      const [[afterValue, afterId]] = await after;
      expect(afterValue).toBe('after');
      expect(afterId).not.toBe(laneId);
      await settled(lanes, gate);
    });
  });

  it('When a transaction waits for a permit, then reads that come after it wait behind it instead of joining an open lane', async () => {
    const gate = new ConnectionGate(2, 10_000);
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 4); // at most 1 lane on 2 permits
    await holdingLock('lanes-order', async (lock, release) => {
      const alone = pilot(lanes);
      const blocked = lockRead(lanes, lock); // opens the lane and keeps it (and its permit)
      expect(lanes.open).toBe(1);
      await alone;
      await waitingFor(lock);
      expect(gate.enter()).toBeUndefined(); // someone else holds the other permit
      const done: string[] = [];
      const transaction = gate.enter()!.then(() => done.push('transaction'));
      expect(gate.queued).toBe(1);
      const later = read(lanes, 'SELECT ?, CONNECTION_ID()', ['later']).then(() => done.push('read'));

      await release(); // the lane's read ends, the lane drains
      await transaction;
      gate.leave(); // the transaction's permit
      gate.leave(); // the other one
      await later;
      await blocked;

      expect(done).toEqual(['transaction', 'read']);
      await settled(lanes, gate);
    });
  });

  it('When reads had to queue for permits, then the first one granted opens a lane that the reads after it join', async () => {
    const gate = new ConnectionGate(3, 10_000);
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 4); // at most 2 lanes on 3 permits
    await holdingLock('lanes-queue', async (lock, release) => {
      for (let i = 0; i < 3; i++) expect(gate.enter()).toBeUndefined(); // every permit held elsewhere
      const queuedRead = lockRead(lanes, lock); // alone (nothing to share with), waiting for a permit
      expect(gate.queued).toBe(1);
      gate.leave(); // its turn: it opens a lane on that permit and blocks on the lock, keeping the lane open
      const laneId = await waitingFor(lock);
      expect(lanes.open).toBe(1);

      const joined = read(lanes, 'SELECT ?, CONNECTION_ID()', ['joined']); // no permit is free: it joins the lane
      expect(lanes.open).toBe(1);
      await release();
      expect(await idOf(queuedRead)).toBe(laneId);
      expect(await joined).toEqual([['joined', laneId]]);

      gate.leave();
      gate.leave();
      await settled(lanes, gate);
    });
  });

  it('When no gate permit comes in time, then the read fails as a busy pool does (45028) and holds nothing', async () => {
    const gate = new ConnectionGate(2, 100);
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 1);
    expect(gate.enter()).toBeUndefined(); // others hold both permits
    expect(gate.enter()).toBeUndefined();

    await expect(read(lanes, 'SELECT ?, CONNECTION_ID()', ['late'])).rejects.toMatchObject({ errno: 45028 });

    gate.leave();
    gate.leave();
    expect(lanes.open).toBe(0);
    const [[value]] = await read(lanes, 'SELECT ?, CONNECTION_ID()', ['then']);
    expect(value).toBe('then');
    await settled(lanes, gate);
  });

  it('When a read overlaps no other, then it is an ordinary statement and opens no lane', async () => {
    const gate = connectionGate(db)!;
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 2);
    const execute = jest.spyOn(sqlPool(db), 'execute');
    try {
      const one = read(lanes, 'SELECT ?, CONNECTION_ID()', ['one']);
      expect(lanes.open).toBe(0);
      await one;
      const two = read(lanes, 'SELECT ?, CONNECTION_ID()', ['two']);
      expect(lanes.open).toBe(0);
      await two;
      expect(execute).toHaveBeenCalledTimes(2); // each on the pool's own round
    } finally {
      execute.mockRestore();
    }
    await settled(lanes, gate);
  });

  it('When the gate has one permit, then no lane opens and reads are ordinary statements', async () => {
    const gate = new ConnectionGate(1, 1000);
    const lanes = new ReadLanes(sqlPool(db), gate, 8, 4);

    const pending = [read(lanes, 'SELECT ?, CONNECTION_ID()', ['one']), read(lanes, 'SELECT ?, CONNECTION_ID()', ['two'])];
    expect(lanes.open).toBe(0);
    expect((await Promise.all(pending)).map(([[v]]) => v)).toEqual(['one', 'two']);
    await settled(lanes, gate);
  });

  it('When the pool is closed under an open lane, then the lane finishes its reads, and later reads fail and hold no permit', async () => {
    const own = createDb(process.env.DATABASE_URL!, 2);
    const gate = connectionGate(own)!;
    const lanes = new ReadLanes(sqlPool(own), gate, 8, 1);
    await holdingLock('lanes-close', async (lock, release) => {
      const alone = pilot(lanes);
      const blocked = lockRead(lanes, lock); // opens the lane and keeps it open
      expect(lanes.open).toBe(1);
      await alone;
      await waitingFor(lock);
      const closing = closeDb(own);
      const late = read(lanes, 'SELECT ?, CONNECTION_ID()', ['late']); // on the open lane's connection
      await release();

      await expect(blocked).resolves.toHaveLength(1); // the pool's end waits for the connection in use
      await expect(late).resolves.toMatchObject([['late', expect.any(Number)]]);
      await closing;
      await expect(read(lanes, 'SELECT ?, CONNECTION_ID()', ['closed'])).rejects.toThrow(/closed/i);
      await eventually(async () => lanes.open === 0 && gate.available === gate.size);
    });
  });
});

describe("the service's runner", () => {
  it('When it makes a point read on a pool that pipelines, then the read goes through the read lanes and is counted', async () => {
    const execute = jest.spyOn(ReadLanes.prototype, 'execute');
    try {
      const before = sqlOf(db).statements;
      const [[value]] = await sqlOf(db).pointReadArrays<Row[]>('SELECT ?, CONNECTION_ID()', ['counted']);
      expect(value).toBe('counted');
      expect(execute).toHaveBeenCalledTimes(1);
      expect(sqlOf(db).statements).toBe(before + 1);
    } finally {
      execute.mockRestore();
    }
  });

  it('When the pool does not pipeline (a Galera client), then a point read is an ordinary statement', async () => {
    const config = { ...dbPoolConfig(process.env.DATABASE_URL!, 2), pipelining: false };
    const galeraLike = createDbOnPool(createPool(config), config);
    const execute = jest.spyOn(ReadLanes.prototype, 'execute');
    try {
      const [[value]] = await sqlOf(galeraLike).pointReadArrays<Row[]>('SELECT ?, CONNECTION_ID()', ['plain']);
      expect(value).toBe('plain');
      expect(execute).not.toHaveBeenCalled();
    } finally {
      execute.mockRestore();
      await closeDb(galeraLike);
    }
  });
});
