import { createConnection, type Connection } from 'mariadb';
import { insertAttempt, casOrderStatus, findOrder } from '../../src/repo/pay-orders';
import { addEvent, recordTransition } from '../../src/repo/history';
import { sqlOf } from '../../src/repo/sql';
import { runTx, Tx } from '../../src/repo/tx';
import { sqlPool } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { PayWay } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/**
 * A Prepay's claim sends BEGIN, the order's compare-and-set, its audit row and the new attempt in one write and
 * waits once (claim-guard.ts). What was on the wire behind a statement that failed must write nothing: when
 * InnoDB rolls the transaction back (a deadlock victim), the rest runs in autocommit, and would commit by itself.
 */
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-claimguard');
});
afterAll(() => h.close());

const db = () => h.service.deps.db;
const count = async (table: 'pay_attempt' | 'order_transition' | 'outbox_event', payNo: string): Promise<number> => {
  const [row] = await sqlOf(db()).query<{ n: bigint }[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE pay_no = ?`, [payNo]);
  return Number(row.n);
};

describe('claim guard', () => {
  it('When the guarded statements run outside a transaction (BEGIN failed, or InnoDB rolled it back), then they write nothing', async () => {
    const order = await createOrder(h, tenant);
    const stored = (await findOrder(db(), { tenantId: tenant, payNo: order.payNo }))!;
    const claim = { payNo: order.payNo, attemptNo: `AGUARD${Date.now()}` };
    const conn = await sqlPool(db()).getConnection();
    try {
      const tx = new Tx(conn); // no BEGIN: every statement is autocommit, as after an implicit rollback
      const cas = casOrderStatus(
        tx,
        { payNo: order.payNo, from: 'WAIT_PAY', to: 'PAYING', version: stored.version, set: { currentAttemptNo: claim.attemptNo } },
        claim,
      );
      const audit = recordTransition(
        tx,
        { payNo: order.payNo, from: 'WAIT_PAY', to: 'PAYING', cause: 'RPC', actor: 't', detail: 'x' },
        claim,
      );
      const attempt = insertAttempt(
        tx,
        { attemptNo: claim.attemptNo, payNo: order.payNo, tenantId: tenant, payWay: 'MOCK', channel: 'mock', payerId: '', clientIp: '' },
        claim,
      );
      expect(await Promise.all([cas, audit, attempt])).toEqual([false, false, null]);
    } finally {
      await conn.release();
    }
    expect(await findOrder(db(), { tenantId: tenant, payNo: order.payNo })).toEqual(stored);
    expect([await count('pay_attempt', order.payNo), await count('order_transition', order.payNo)]).toEqual([0, 0]);
  });

  it('When the order does not name the attempt (the compare-and-set lost), then the guarded rows are not written, even in a transaction', async () => {
    const order = await createOrder(h, tenant);
    const claim = { payNo: order.payNo, attemptNo: `ALOST${Date.now()}` };
    const stored = (await findOrder(db(), { tenantId: tenant, payNo: order.payNo }))!;
    const answers = await runTx(db(), (tx) =>
      Promise.all([
        recordTransition(tx, { payNo: order.payNo, from: 'WAIT_PAY', to: 'PAYING', cause: 'RPC', actor: 't', detail: 'x' }, claim),
        addEvent(tx, 'PAYMENT_RETRIED', stored, undefined, undefined, claim),
        insertAttempt(
          tx,
          { attemptNo: claim.attemptNo, payNo: order.payNo, tenantId: tenant, payWay: 'MOCK', channel: 'mock', payerId: '', clientIp: '' },
          claim,
        ),
      ]),
    );
    expect(answers).toEqual([false, null, null]);
    expect([
      await count('pay_attempt', order.payNo),
      await count('order_transition', order.payNo),
      await count('outbox_event', order.payNo),
    ]).toEqual([0, 0, 0]);
  });

  it('When another writer holds the order row, then a guarded INSERT of the claim (READ COMMITTED) finds no row without waiting on its lock', async () => {
    // A compare-and-set that timed out on that lock (1205 rolls back only the statement) leaves the INSERTs behind it
    // to run: at REPEATABLE READ each would take a shared lock on the row and wait out the lock timeout again (1205).
    const order = await createOrder(h, tenant);
    const claim = { payNo: order.payNo, attemptNo: `ABUSY${Date.now()}` };
    const holder: Connection = await createConnection(mysqlConnection(process.env.DATABASE_URL!));
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE pay_order SET updated_at = updated_at WHERE pay_no = ?', [order.payNo]);
      const audited = await runTx(
        db(),
        (tx) => recordTransition(tx, { payNo: order.payNo, from: 'WAIT_PAY', to: 'PAYING', cause: 'RPC', actor: 't', detail: 'x' }, claim),
        { readCommitted: true },
      );
      expect(audited).toBe(false);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await count('order_transition', order.payNo)).toBe(0);
  });

  it('When the claim is a deadlock victim with the attempt still on the wire, then nothing of it is left, and the retried claim opens one attempt', async () => {
    const order = await createOrder(h, tenant);
    const bystander = await createOrder(h, tenant);
    // The other transaction: heavier (InnoDB rolls back the lighter one), holding every row and gap of
    // order_transition, so the claim's audit INSERT waits on it; then it asks for the order row the claim holds.
    const other: Connection = await createConnection(mysqlConnection(process.env.DATABASE_URL!));
    try {
      await other.query('BEGIN');
      for (let i = 0; i < 20; i++) {
        await other.query(
          `INSERT INTO order_transition (pay_no, from_status, to_status, cause, actor, detail, created_at) VALUES (?, 'WAIT_PAY', 'PAYING', 'RPC', 'other', 'weight', NOW(3))`,
          [bystander.payNo],
        );
      }
      await other.query('SELECT id FROM order_transition FOR UPDATE');

      const prepay = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '127.0.0.1', payerId: '' });
      prepay.catch(() => undefined); // awaited below
      // The claim's audit INSERT waits for that lock, its attempt INSERT behind it on the same connection.
      await eventually(async () => {
        const [row] = await other.query<{ n: bigint }[]>(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO order\\_transition % FROM pay\\_order WHERE%'",
        );
        return Number(row.n) >= 1;
      });
      const [{ deadlocks: before }] = await other.query<{ deadlocks: string }[]>(
        "SELECT VARIABLE_VALUE AS deadlocks FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'",
      );
      // A deadlock: InnoDB rolls the claim back (one row changed, against this one's twenty). This UPDATE returns only
      // once the claim let go of the order row, which it cannot have done by finishing: its INSERT waits on this.
      await other.query('UPDATE pay_order SET updated_at = updated_at WHERE pay_no = ?', [order.payNo]);
      const [{ deadlocks: after }] = await other.query<{ deadlocks: string }[]>(
        "SELECT VARIABLE_VALUE AS deadlocks FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'",
      );
      expect(Number(after) - Number(before)).toBeGreaterThanOrEqual(1); // the counter is the server's: another suite may add to it
      await other.query('ROLLBACK');

      const answer = await prepay; // runTx tried the claim again, once the other transaction let go
      const attempts = await db().payAttempt.findMany({ where: { payNo: order.payNo } });
      expect(attempts.map((a) => [a.attemptNo, a.status])).toEqual([[answer.attemptNo, 'OPEN']]);
      const trail = await db().orderTransition.findMany({ where: { payNo: order.payNo } });
      expect(trail.map((t) => [t.fromStatus, t.toStatus])).toEqual([['WAIT_PAY', 'PAYING']]);
    } finally {
      await other.end();
    }
  });
});
