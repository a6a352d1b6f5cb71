import { closeDb, connectionGate, createDb, sqlPool, type Db } from '../../src/infra/db';
import { sqlOf } from '../../src/repo/sql';
import { isTransientDbError, runTx } from '../../src/repo/tx';
import { toServiceError } from '../../src/grpc/errors';
import { createMetrics } from '../../src/infra/metrics';

/**
 * The permits in front of the service's pool (src/infra/connection-gate.ts): statements and transactions wait
 * there, not in the driver's costlier queue, and a wait is bounded as the driver's is.
 */
const POOL = 2;
const ACQUIRE_MS = 1000;
let db: Db;
beforeAll(() => {
  db = createDb(process.env.DATABASE_URL!, POOL, ACQUIRE_MS);
});
afterAll(() => closeDb(db));

const gate = () => connectionGate(db)!;

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const promise = new Promise<void>((resolve) => (settle = resolve));
  return { promise, settle };
}

describe('the connection gate', () => {
  it('When twenty statements and five transactions share a pool of two, then all finish and every permit and connection is back', async () => {
    const statements = Array.from({ length: 20 }, (_, i) => sqlOf(db).query<{ n: number }[]>('SELECT ? AS n', [i]));
    const transactions = Array.from({ length: 5 }, (_, i) =>
      runTx(db, async (tx) => (await tx.query<{ n: number }[]>('SELECT ? AS n', [100 + i]))[0].n),
    );
    // Each statement that could not take a permit at once is waiting in the gate, not in the driver's queue.
    expect(gate().queued).toBe(20 + 5 - POOL);
    expect((await Promise.all(statements)).map(([r]) => Number(r.n))).toEqual([...Array(20).keys()]);
    expect((await Promise.all(transactions)).map(Number)).toEqual([100, 101, 102, 103, 104]);
    expect(gate().available).toBe(POOL);
    expect(gate().queued).toBe(0);
    expect(sqlPool(db).activeConnections()).toBe(0);
  });

  it('When a statement fails or a transaction throws, then its permit comes back', async () => {
    await expect(sqlOf(db).query('SELECT * FROM no_such_table', [])).rejects.toMatchObject({ errno: 1146 });
    await expect(
      runTx(db, async (tx) => {
        await tx.query('SELECT 1', []);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(gate().available).toBe(POOL);
  });

  it('When every permit is held past the acquire timeout, then a waiting statement fails as DATABASE_BUSY, holds nothing, and the gate recovers', async () => {
    const hold = deferred();
    const holding: Promise<unknown>[] = [];
    const entered: Promise<void>[] = [];
    for (let i = 0; i < POOL; i++) {
      const inside = deferred();
      entered.push(inside.promise);
      holding.push(
        runTx(db, async () => {
          inside.settle();
          await hold.promise;
        }),
      );
    }
    await Promise.all(entered);
    expect(gate().available).toBe(0);
    // What /metrics shows an operator at that moment: no permit free, one statement waiting.
    const metrics = createMetrics(gate());
    const gauge = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value;

    const waited = sqlOf(db)
      .query('SELECT 1', [])
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(await gauge('paysvc_db_gate_free_permits')).toBe(0);
    expect(await gauge('paysvc_db_gate_waiting')).toBe(1);
    const err = await waited;
    expect(err).toMatchObject({ errno: 45028, code: 'ER_GET_CONNECTION_TIMEOUT' });
    expect(isTransientDbError(err)).toBe(true);
    expect(toServiceError(err, false).reason).toBe('DATABASE_BUSY');
    expect(gate().queued).toBe(0);

    hold.settle();
    await Promise.all(holding);
    expect(gate().available).toBe(POOL);
    const [row] = await sqlOf(db).query<{ one: number }[]>('SELECT 1 AS one', []);
    expect(Number(row.one)).toBe(1);
  });
});
