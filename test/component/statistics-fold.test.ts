import type { PoolConnection } from 'mariadb';
import { ORDER_STATUSES, PAID_STATUSES } from '../../src/domain/order-status';
import { sqlPool } from '../../src/infra/db';
import { foldAllStatsDeltas, foldStatsDeltas } from '../../src/repo/stats-fold';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

/*
 * The statistics rollup is fed by deltas the triggers append, folded by the service (src/repo/stats-fold.ts), so no
 * payment transaction holds a lock on a row every other writer of its tenant needs (issue 13: under load nearly
 * every lock wait was on order_stats_cell).
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const db = () => h.service.deps.db;
const DAY_MS = 86_400_000;
const stats = (tenantId: string) =>
  h.call('getStatistics', {
    tenantId,
    createdFrom: new Date(Date.now() - DAY_MS),
    createdTo: new Date(Date.now() + DAY_MS),
    currency: '',
    timeZone: 'Asia/Shanghai',
  });

/** A driver connection in its own READ COMMITTED transaction, for holding locks while the service works. */
async function openTx(): Promise<PoolConnection> {
  const conn = await sqlPool(db()).getConnection();
  await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  await conn.query('BEGIN');
  return conn;
}
async function endTx(conn: PoolConnection): Promise<void> {
  await conn.query('ROLLBACK');
  await conn.release();
}

const pendingOf = async (tenantId: string) =>
  (await db().$queryRaw<unknown[]>`SELECT id FROM order_stats_delta WHERE tenant_id = ${tenantId}`).length;

/** The tenant's rollup rows (DAY grain and quarters) summed, once every delta of the tenant is folded. */
async function folded(tenantId: string) {
  await foldAllStatsDeltas(db(), tenantId);
  expect(await pendingOf(tenantId)).toBe(0);
  const [cells] = await db().$queryRaw<{ orders: bigint; amount: bigint }[]>`
    SELECT CAST(COALESCE(SUM(order_count), 0) AS SIGNED) AS orders, CAST(COALESCE(SUM(order_amount), 0) AS SIGNED) AS amount
      FROM order_stats_cell WHERE tenant_id = ${tenantId} AND grain = 'DAY'`;
  const [quarters] = await db().$queryRaw<{ orders: bigint; paid: bigint }[]>`
    SELECT CAST(COALESCE(SUM(order_count), 0) AS SIGNED) AS orders, CAST(COALESCE(SUM(paid_amount), 0) AS SIGNED) AS paid
      FROM order_stats_quarter WHERE tenant_id = ${tenantId}`;
  return { cells, quarters };
}

describe('the statistics fold', () => {
  it('When a write of a tenant holds its transaction open, then a CreateOrder of the same tenant does not wait for it', async () => {
    const tenant = await newTenant(h, 't-hot');
    const held = await createOrder(h, tenant, { amount: 100n });
    const holder = await openTx();
    try {
      // Changes what the rollup sums for this tenant's WAIT_PAY orders of this quarter and day, and stays open.
      await holder.query('UPDATE pay_order SET amount = amount + 1 WHERE pay_no = ?', [held.payNo]);
      // A rollup kept in the writing transaction made this wait for the holder's row locks (innodb_lock_wait_timeout,
      // then DATABASE_BUSY); deltas are inserts and wait for nothing.
      const next = await createOrder(h, tenant, { amount: 200n });
      expect(next.amount).toBe(200n);
      const waits = await db().$queryRaw<unknown[]>`
        SELECT 1 FROM information_schema.INNODB_LOCK_WAITS w JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id
         WHERE l.lock_table LIKE '%order_stats%'`;
      expect(waits).toEqual([]);
    } finally {
      await endTx(holder);
    }
    expect((await folded(tenant)).cells).toEqual({ orders: 2n, amount: 300n });
  });

  it('When deltas are not folded yet, then GetStatistics counts them once, and answers the same after the fold', async () => {
    const tenant = await newTenant(h, 't-pend');
    await paidOrder(h, tenant, 700n);
    await createOrder(h, tenant, { amount: 50n });
    await h.call('refund', { order: ref(await paidOrder(h, tenant, 300n)), outRefundNo: uniq('RF'), amount: 100n, reason: '' });
    // The harness folds nothing by itself (STATS_FOLD_MS is an hour there) and no other test folds this tenant.
    expect(await pendingOf(tenant)).toBeGreaterThan(3);
    const pending = await stats(tenant);
    expect(pending.total).toMatchObject({
      orderCount: 3n,
      orderAmount: 1050n,
      paidCount: 2n,
      paidAmount: 1000n,
      refundCount: 1n,
      refundedAmount: 100n,
    });
    const { cells, quarters } = await folded(tenant);
    expect(cells).toEqual({ orders: 3n, amount: 1050n });
    expect(quarters).toEqual({ orders: 3n, paid: 1000n });
    expect(await stats(tenant)).toEqual(pending);
  });

  it('When several folds run at once, then each delta is counted once', async () => {
    const tenant = await newTenant(h, 't-folds');
    const orders = await Promise.all(Array.from({ length: 24 }, (_, i) => createOrder(h, tenant, { amount: BigInt(10 + i) })));
    await Promise.all(orders.slice(0, 8).map((o) => h.call('cancel', { order: ref(o), reason: '' })));
    // Small batches, many at once.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while ((await foldStatsDeltas(db(), 3, tenant)) > 0);
      }),
    );
    const sum = orders.reduce((s, o) => s + o.amount, 0n);
    expect((await folded(tenant)).cells).toEqual({ orders: 24n, amount: sum });
    const byStatus = await db().$queryRaw<{ status: string; n: bigint }[]>`
      SELECT status, CAST(SUM(order_count) AS SIGNED) AS n FROM order_stats_cell
       WHERE tenant_id = ${tenant} AND grain = 'QUARTER' GROUP BY status HAVING n <> 0 ORDER BY status`;
    expect(byStatus).toEqual([
      { status: 'WAIT_PAY', n: 16n },
      { status: 'CLOSED', n: 8n },
    ]);
  });

  it('When the database sums the deltas, then every rollup row is what summing them one by one gives, gaps and a locked delta included', async () => {
    const tenant = uniq('t-sums');
    const FACTS = ['order_count', 'order_amount', 'refund_count', 'refunded_amount', 'fee_amount', 'net_amount', 'refunded_fee'];
    // Edges of quarters and days (UTC), both signs, every status, two currencies and pay ways, and pairs that cancel.
    const day = Date.UTC(2026, 10, 30);
    const times = [0, 1, 899_999, 900_000, 86_399_999, 86_400_000, 3_600_000 * 13 + 1_234].map((ms) => new Date(day + ms));
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
    const deltas = Array.from({ length: 240 }, (_, i) => {
      const sign = next(3) === 0 ? -1n : 1n;
      const facts = FACTS.map(() => sign * BigInt(next(10_000)));
      facts[0] = sign;
      return {
        currency: next(4) === 0 ? 'USD' : 'CNY',
        createdAt: times[next(times.length)],
        status: ORDER_STATUSES[i % ORDER_STATUSES.length],
        payWay: next(2) === 0 ? 'MOCK' : 'ALIPAY_QR',
        facts,
      };
    });
    deltas.push({ ...deltas[0], facts: deltas[0].facts.map((f) => -f) }); // cancels its cell's share of deltas[0]
    const conn = await sqlPool(db()).getConnection();
    const ids: bigint[] = [];
    try {
      for (const d of deltas) {
        const r = await conn.query(
          `INSERT INTO order_stats_delta (tenant_id, currency, created_at, status, pay_way, ${FACTS.join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [tenant, d.currency, d.createdAt, d.status, d.payWay, ...d.facts],
        );
        ids.push(BigInt(r.insertId));
      }
      // Gaps in the ids: every seventh delta is gone before any fold.
      const gone = new Set(ids.filter((_, i) => i % 7 === 3));
      await conn.query(`DELETE FROM order_stats_delta WHERE id IN (${[...gone].join(', ')})`);
      const kept = deltas.filter((_, i) => !gone.has(ids[i]));

      // A delta in the middle is locked by another transaction (as a fold in another process holds its claim): the
      // folds here skip it, fold the rest without waiting for it, and it is folded once it is free.
      const lockedAt = ids.findIndex((id, i) => i > 100 && !gone.has(id));
      const holder = await openTx();
      try {
        await holder.query('SELECT id FROM order_stats_delta WHERE id = ? FOR UPDATE', [ids[lockedAt]]);
        while ((await foldStatsDeltas(db(), 50, tenant)) > 0);
        expect(await pendingOf(tenant)).toBe(1);
      } finally {
        await endTx(holder);
      }
      await foldAllStatsDeltas(db(), tenant);

      const expectedCells = new Map<string, bigint[]>();
      const expectedQuarters = new Map<string, bigint[]>();
      const addTo = (m: Map<string, bigint[]>, key: string, facts: bigint[]) => {
        const into = m.get(key) ?? facts.map(() => 0n);
        m.set(
          key,
          into.map((v, i) => v + facts[i]),
        );
      };
      for (const d of kept) {
        const t = d.createdAt.getTime();
        const quarter = new Date(t - (t % 900_000)).toISOString();
        const dayStart = new Date(t - (t % 86_400_000)).toISOString();
        addTo(expectedCells, [d.currency, 'QUARTER', quarter, d.status, d.payWay].join('|'), d.facts);
        addTo(expectedCells, [d.currency, 'DAY', dayStart, d.status, d.payWay].join('|'), d.facts);
        const paid = PAID_STATUSES.includes(d.status);
        const [orders, amount, ...rest] = d.facts;
        addTo(expectedQuarters, [d.currency, quarter].join('|'), [orders, amount, paid ? orders : 0n, paid ? amount : 0n, ...rest]);
      }
      const nonZero = (m: Map<string, bigint[]>) =>
        Object.fromEntries([...m].filter(([, f]) => f.some((v) => v !== 0n)).map(([k, f]) => [k, f.join(',')]));

      const cellRows = await conn.query(
        `SELECT currency, grain, bucket, status, pay_way, ${FACTS.join(', ')} FROM order_stats_cell WHERE tenant_id = ?`,
        [tenant],
      );
      const quarterFacts = ['order_count', 'order_amount', 'paid_count', 'paid_amount', ...FACTS.slice(2)];
      const quarterRows = await conn.query(
        `SELECT currency, bucket, ${quarterFacts.join(', ')} FROM order_stats_quarter WHERE tenant_id = ?`,
        [tenant],
      );
      const asMap = (rows: Record<string, unknown>[], key: string[], facts: string[]) =>
        Object.fromEntries(
          rows
            .filter((r) => facts.some((f) => BigInt(r[f] as bigint) !== 0n))
            .map((r) => [
              key.map((k) => (r[k] instanceof Date ? r[k].toISOString() : String(r[k]))).join('|'),
              facts.map((f) => BigInt(r[f] as bigint)).join(','),
            ]),
        );
      expect(asMap(cellRows, ['currency', 'grain', 'bucket', 'status', 'pay_way'], FACTS)).toEqual(nonZero(expectedCells));
      expect(asMap(quarterRows, ['currency', 'bucket'], quarterFacts)).toEqual(nonZero(expectedQuarters));
      expect(Object.keys(nonZero(expectedCells)).length).toBeGreaterThan(40); // the data really spread over many cells
    } finally {
      await conn.release();
    }
  });

  it('When a worker process runs, then its fold moves the deltas into the rollup by itself', async () => {
    const tenant = await newTenant(h, 't-loop');
    await createOrder(h, tenant, { amount: 40n });
    await createOrder(h, tenant, { amount: 2n });
    const worker = await startHarness({ STATS_FOLD_MS: '50' });
    try {
      await eventually(async () => (await pendingOf(tenant)) === 0);
    } finally {
      await worker.close();
    }
    expect((await folded(tenant)).cells).toEqual({ orders: 2n, amount: 42n });
  });
});
