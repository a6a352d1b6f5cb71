import type { Pool, PoolConnection, QueryOptions } from 'mariadb';
import { PayWay } from '../../src/gen/payment/v1/types';
import { closeDb, createDb, sqlPool, type Db } from '../../src/infra/db';
import { listTransitions, recordTransition } from '../../src/repo/history';
import { lockOrder } from '../../src/repo/pay-orders';
import { noteOrderChange, onOrderChanges, runTx, Tx, type OrderChange } from '../../src/repo/tx';
import { mockAccount, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { createOrder, ref } from '../support/orders';

let h: Harness;
let TENANT: string;
/** A client of its own for the transaction tests, so its commit listener is the test's. */
let db: Db;
beforeAll(async () => {
  // No background passes in this process (outbox relay, statistics fold, sweeps, job workers), so the statements
  // counted below are the request's own. A long poll was not enough: a relay that starts on another suite's backlog
  // of pending events drains it batch after batch, and its statements landed among a Prepay's (CI, stop 38).
  h = await startHarness({ WORKERS_ENABLED: 'false', PAY_WAY_CACHE_MS: '600000' });
  TENANT = await newTenant(h, 't-sqltx');
  db = createDb(process.env.DATABASE_URL!, 4);
});
afterAll(async () => {
  await closeDb(db);
  await h.close();
});

const audit = (payNo: string, detail: string) =>
  ({ payNo, from: 'WAIT_PAY', to: 'WAIT_PAY', cause: 'RPC', actor: 'test:sql-tx', detail }) as const;
const details = async (payNo: string) => (await listTransitions(db, payNo)).map((t) => t.detail);

describe('runTx on a driver connection', () => {
  it('When fn resolves, then its writes are committed and the locked row equals what Prisma reads', async () => {
    const order = await createOrder(h, TENANT, { amount: 9_999_999_999n });
    const locked = await runTx(db, async (tx) => {
      const row = await lockOrder(tx, order.payNo);
      await recordTransition(tx, audit(order.payNo, 'committed'));
      return row;
    });
    expect(locked).toEqual(await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } }));
    expect(locked.amount).toBe(9_999_999_999n);
    expect(await details(order.payNo)).toContain('committed');
  });

  it('When fn throws, then nothing it wrote stays, the error reaches the caller and the connection is back in the pool', async () => {
    const order = await createOrder(h, TENANT);
    const failing = runTx(db, async (tx) => {
      await recordTransition(tx, audit(order.payNo, 'rolled back'));
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    expect(await details(order.payNo)).not.toContain('rolled back');
    expect(sqlPool(db).activeConnections()).toBe(0);
  });

  it('When two transactions lock two orders in opposite order, then MySQL picks a deadlock victim, it is retried and both finish', async () => {
    const [a, b] = [await createOrder(h, TENANT), await createOrder(h, TENANT)];
    let runs = 0;
    let holding = 0;
    let bothHold!: () => void;
    const crossed = new Promise<void>((resolve) => (bothHold = resolve));
    const crosswise = (first: string, second: string) =>
      runTx(db, async (tx) => {
        runs++;
        await lockOrder(tx, first);
        if (++holding === 2) bothHold();
        await crossed; // each holds its first row before asking for the other's
        await lockOrder(tx, second);
        await recordTransition(tx, audit(first, `crossed ${second}`));
        return first;
      });
    expect(await Promise.all([crosswise(a.payNo, b.payNo), crosswise(b.payNo, a.payNo)])).toEqual([a.payNo, b.payNo]);
    expect(runs).toBe(3); // one of the two ran twice
    expect(await details(a.payNo)).toEqual([`crossed ${b.payNo}`]);
    expect(await details(b.payNo)).toEqual([`crossed ${a.payNo}`]);
  });

  it('When a transaction notes an order change, then listeners hear it only after COMMIT, and never when it rolled back', async () => {
    const heard: OrderChange[] = [];
    onOrderChanges(db, (changes) => heard.push(...changes));
    const order = await createOrder(h, TENANT);
    const change = { payNo: order.payNo, status: 'WAIT_PAY', version: 1n };
    await expect(
      runTx(db, async (tx) => {
        noteOrderChange(tx, change);
        await recordTransition(tx, audit(order.payNo, 'noted, then failed'));
        throw new Error('no commit');
      }),
    ).rejects.toThrow('no commit');
    expect(heard).toEqual([]);
    await runTx(db, async (tx) => {
      noteOrderChange(tx, change);
      await recordTransition(tx, audit(order.payNo, 'noted'));
      expect(heard).toEqual([]); // not before COMMIT
    });
    expect(heard).toEqual([change]);
  });
});

describe("a transaction's statements while its BEGIN is unanswered", () => {
  /** A Tx on a connection of its own whose BEGIN the test answers; the connection itself stays in autocommit. */
  async function withPendingBegin(test: (tx: Tx, conn: PoolConnection, answer: (ok: boolean) => void) => Promise<void>) {
    const conn = await sqlPool(db).getConnection();
    let answer!: (ok: boolean) => void;
    const began = new Promise<unknown>((resolve, reject) => {
      answer = (ok) => (ok ? resolve(conn.query('BEGIN')) : reject(new Error('BEGIN failed')));
    });
    try {
      await test(new Tx(conn, began), conn, answer);
    } finally {
      await conn.query('ROLLBACK');
      await conn.release();
    }
  }

  it('When the first statement reads, then it is sent at once and its rows are handed over once BEGIN succeeds', async () => {
    const order = await createOrder(h, TENANT);
    await withPendingBegin(async (tx, _conn, answer) => {
      const read = lockOrder(tx, order.payNo);
      expect(tx.statements).toBe(1); // on the wire behind BEGIN, not waiting for its answer
      answer(true);
      expect((await read).payNo).toBe(order.payNo);
    });
  });

  it('When a write is issued before BEGIN is answered, then it is sent only after BEGIN, inside the transaction', async () => {
    const order = await createOrder(h, TENANT);
    await withPendingBegin(async (tx, conn, answer) => {
      const write = recordTransition(tx, audit(order.payNo, 'written after BEGIN'));
      await conn.query('SELECT 1'); // had the write been sent, it would have run (and committed) before this
      expect(tx.statements).toBe(0);
      expect(await details(order.payNo)).not.toContain('written after BEGIN');
      answer(true);
      await write;
    }); // rolled back: it ran in the transaction BEGIN opened
    expect(await details(order.payNo)).not.toContain('written after BEGIN');
  });

  it('When BEGIN fails, then the first read tells its error and nothing issued behind it is sent', async () => {
    const order = await createOrder(h, TENANT);
    await withPendingBegin(async (tx, conn, answer) => {
      const read = lockOrder(tx, order.payNo);
      const write = recordTransition(tx, audit(order.payNo, 'behind a failed BEGIN'));
      const secondRead = lockOrder(tx, order.payNo);
      answer(false);
      await expect(read).rejects.toThrow('BEGIN failed');
      await expect(write).rejects.toThrow('BEGIN failed');
      await expect(secondRead).rejects.toThrow('BEGIN failed');
      await conn.query('SELECT 1'); // anything sent has been answered by now
      expect(tx.statements).toBe(1);
    });
    expect(await details(order.payNo)).not.toContain('behind a failed BEGIN');
  });
});

describe("runTx on a pool that does not pipeline (a Galera cluster's session settings, on one server)", () => {
  /** One connection, so every transaction below finds the texts the one before it prepared in its cache. */
  let galera: Db;
  beforeAll(() => {
    galera = createDb(process.env.DATABASE_URL!, 1, undefined, { galera: true });
  });
  afterAll(() => closeDb(galera)); // $disconnect alone leaves the pool open when Prisma never used it

  /** A hang found by a bound, told as such instead of as Jest's timeout. */
  const answered = <T>(p: Promise<T>): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('never answered')), 20_000).unref())]);

  it('When a READ COMMITTED transaction begins with a read its connection has prepared before, then the read is answered', async () => {
    const order = await createOrder(h, TENANT);
    const claim = () => runTx(galera, (tx) => lockOrder(tx, order.payNo), { readCommitted: true });
    expect((await answered(claim())).payNo).toBe(order.payNo); // prepares the text
    // SET TRANSACTION and BEGIN are both queued when the read is issued: the relay's claim hung here on Galera.
    expect((await answered(claim())).payNo).toBe(order.payNo);
  });

  it('When a transaction issues three prepared statements at once, then each is answered, in the order issued', async () => {
    const order = await createOrder(h, TENANT);
    const three = (label: string) =>
      runTx(galera, async (tx) => {
        await lockOrder(tx, order.payNo);
        await Promise.all([1, 2, 3].map((i) => recordTransition(tx, audit(order.payNo, `${label} ${i}`))));
      });
    await answered(three('first'));
    await answered(three('again'));
    expect((await details(order.payNo)).filter((d) => d.startsWith('again'))).toEqual(['again 1', 'again 2', 'again 3']);
  });

  it('When fn throws while a statement it issued is still to be sent, then that statement runs before ROLLBACK, inside the transaction', async () => {
    const order = await createOrder(h, TENANT);
    const failing = runTx(galera, async (tx) => {
      await lockOrder(tx, order.payNo);
      void recordTransition(tx, audit(order.payNo, 'issued, then abandoned')).catch(() => undefined);
      throw new Error('boom');
    });
    await expect(answered(failing)).rejects.toThrow('boom');
    expect(await details(order.payNo)).not.toContain('issued, then abandoned');
  });
});

/** Every statement the service's pool sends (Prisma's and the driver's own), by its first word. */
function countStatements(pool: Pool): { take(): string[]; stop(): void } {
  let seen: string[] = [];
  const undo: (() => void)[] = [];
  const wrap = (target: Pick<Pool, 'query' | 'execute'>) => {
    for (const method of ['query', 'execute'] as const) {
      const original = target[method];
      target[method] = ((sql: string | QueryOptions, values?: unknown) => {
        seen.push((typeof sql === 'string' ? sql : sql.sql).trim().split(/\s+/)[0].toUpperCase());
        return original.call(target, sql, values);
      }) as never;
      undo.push(() => (target[method] = original));
    }
  };
  wrap(pool);
  const getConnection = pool.getConnection;
  const wrapped = new WeakSet<PoolConnection>();
  pool.getConnection = async () => {
    const conn = await getConnection.call(pool);
    if (!wrapped.has(conn)) {
      wrapped.add(conn);
      wrap(conn);
    }
    return conn;
  };
  undo.push(() => (pool.getConnection = getConnection));
  return {
    take: () => {
      const taken = seen;
      seen = [];
      return taken;
    },
    stop: () => undo.reverse().forEach((u) => u()),
  };
}

describe('statements per request on the hot paths', () => {
  const notify = (attemptNo: string, notifyId: string) => {
    const made = h.gateway.trade(attemptNo) ? {} : { mch_id: mockAccount(h, TENANT).merchantId, amount: '2500' };
    return postMockNotify(h, TENANT, mockPaymentNotify(h, attemptNo, { notify_id: notifyId, ...made }));
  };
  const payment = async () => {
    const order = await createOrder(h, TENANT, { amount: 2500n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    return { order, attemptNo: pre.attemptNo };
  };

  it('When an order is prepaid and its first notify applied, then each costs the statements claimed, and a duplicate one', async () => {
    const warm = await payment(); // tenant, account and pay-way caches filled
    expect((await notify(warm.attemptNo, uniq('N'))).status).toBe(200);
    const counter = countStatements(sqlPool(h.service.deps.db));
    try {
      const order = await createOrder(h, TENANT, { amount: 2500n });
      counter.take();
      const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      expect(counter.take()).toEqual([
        // (no read of the pay way's tenant settings: cached per tenant for PAY_WAY_CACHE_MS, filled by the warm-up)
        'SELECT', // the order and its attempts, one join
        // claim: CAS to PAYING, audit row and the attempt in one transaction the server runs (src/repo/claim.ts)
        'CALL',
        'UPDATE', // open: CAS to OPEN while it is the order's current attempt (reads the order in a sub-select; one statement)
      ]);
      const notifyId = uniq('N');
      expect((await notify(pre.attemptNo, notifyId)).status).toBe(200);
      expect(counter.take()).toEqual([
        'SELECT', // the attempt and this notify's receipt, one read
        'BEGIN',
        'SELECT', // the order, locked and read (FOR UPDATE)
        ...['UPDATE', 'UPDATE'], // CAS of the attempt, CAS of the order
        ...['INSERT', 'INSERT', 'INSERT', 'INSERT'], // audit row, outbox event, receipt, notify record
        'COMMIT',
      ]);
      expect((await notify(pre.attemptNo, notifyId)).status).toBe(200);
      // No transaction and no read: this process saw the receipt committed (notify-duplicates.test.ts has the read
      // for a receipt it did not see); the duplicate's record.
      expect(counter.take()).toEqual(['INSERT']);
      const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
      expect([row.status, row.version]).toEqual(['SUCCESS', 3n]);
    } finally {
      counter.stop();
    }
  });
});
