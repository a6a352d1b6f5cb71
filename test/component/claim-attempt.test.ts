import { createConnection, type Connection } from 'mariadb';
import { claimOrder } from '../../src/app/transition';
import { findOrder, type PayOrder } from '../../src/repo/pay-orders';
import { sqlOf } from '../../src/repo/sql';
import { callProcedure } from '../../src/repo/tx';
import { CLAIM_ATTEMPT, claimArgs } from '../../src/repo/claim';
import { sqlPool } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { newAttemptNo } from '../../src/domain/ids';
import { PayWay } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/**
 * A Prepay's claim is one statement, the stored procedure claim_attempt (src/repo/claim.ts): the order's
 * compare-and-set to PAYING, its audit row, a retry's event and the new attempt, committed together or not at all.
 * All or nothing is the server's to keep here, with no client between the statements: an error after the
 * compare-and-set (a duplicate key, a lock wait timeout that InnoDB rolls back for its statement only, a deadlock)
 * must leave nothing of the claim behind.
 */
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-claimattempt');
});
afterAll(() => h.close());

const db = () => h.service.deps.db;
const count = async (table: 'pay_attempt' | 'order_transition' | 'outbox_event', payNo: string): Promise<number> => {
  const [row] = await sqlOf(db()).query<{ n: bigint }[]>(`SELECT COUNT(*) AS n FROM ${table} WHERE pay_no = ?`, [payNo]);
  return Number(row.n);
};
const stored = async (payNo: string): Promise<PayOrder> => (await findOrder(db(), { tenantId: tenant, payNo }))!;
const fresh = (order: PayOrder, attemptNo = newAttemptNo(new Date())) => ({
  attemptNo,
  payNo: order.payNo,
  tenantId: order.tenantId,
  payWay: 'MOCK',
  channel: 'mock',
  payerId: 'payer-1',
  clientIp: '10.0.0.9',
});
const claimOpts = { cause: 'RPC' as const, actor: 'svc:test', detail: 'prepay MOCK', set: { payWay: 'MOCK', payWaySwitches: 0 } };

/** The claim as claimAttempt sends it, for calling the procedure by hand on a connection of the test's own. */
const callArgs = (order: PayOrder, attemptNo: string): unknown[] =>
  claimArgs({
    payNo: order.payNo,
    from: order.status,
    version: order.version,
    payWay: 'MOCK',
    payWaySwitches: 0,
    clearCloseReason: false,
    attempt: { attemptNo, tenantId: order.tenantId, channel: 'mock', payerId: '', clientIp: '' },
    audit: { cause: 'RPC', actor: 'svc:test', detail: 'by hand' },
    now: new Date(),
  });

/** A connection of the test's own, outside the service's pool. */
const connect = (): Promise<Connection> => createConnection(mysqlConnection(process.env.DATABASE_URL!));
const inTransaction = async (conn: { query: Connection['query'] }): Promise<boolean> => {
  const [state] = await conn.query<{ t: number | bigint }[]>('SELECT @@in_transaction AS t');
  return Number(state.t) === 1;
};
/** Every row and gap of order_transition locked (REPEATABLE READ), so a claim's audit INSERT waits; ROLLBACK frees it. */
const lockTheAuditTrail = async (holder: Connection): Promise<void> => {
  await holder.query('BEGIN');
  await holder.query('SELECT id FROM order_transition FOR UPDATE');
};
/** Fails (1205 at once) if any transaction holds the order's row. */
const expectNobodyHolds = async (payNo: string): Promise<void> => {
  const probe = await connect();
  try {
    await probe.query('BEGIN');
    await probe.query('SELECT pay_no FROM pay_order WHERE pay_no = ? FOR UPDATE NOWAIT', [payNo]);
    await probe.query('ROLLBACK');
  } finally {
    await probe.end();
  }
};

describe('claim_attempt', () => {
  // That it is one statement, sql-tx.test.ts counts ('CALL', among Prepay's statements).
  it('When an order is claimed, then the order, its audit row and the attempt are written as claimed', async () => {
    const order = await stored((await createOrder(h, tenant)).payNo);
    const attempt = fresh(order);
    const claimed = await claimOrder(db(), order, attempt, claimOpts);

    const now = await stored(order.payNo);
    expect(claimed?.order).toEqual({ ...now, updatedAt: claimed?.order.updatedAt });
    expect(now).toMatchObject({ status: 'PAYING', version: order.version + 1n, currentAttemptNo: attempt.attemptNo, payWay: 'MOCK' });
    expect(now.updatedAt.getTime()).toBe(claimed?.order.updatedAt.getTime());
    const [row] = await db().payAttempt.findMany({ where: { payNo: order.payNo } });
    expect(claimed?.attempt).toEqual(row);
    expect(row).toMatchObject({ status: 'CREATED', payerId: 'payer-1', clientIp: '10.0.0.9', channel: 'mock', tenantId: tenant });
    const trail = await db().orderTransition.findMany({ where: { payNo: order.payNo } });
    expect(trail.map((t) => [t.fromStatus, t.toStatus, t.cause, t.actor, t.detail])).toEqual([
      ['WAIT_PAY', 'PAYING', 'RPC', 'svc:test', 'prepay MOCK'],
    ]);
    expect(await count('outbox_event', order.payNo)).toBe(0); // a first prepay tells the order side nothing
  });

  it('When a FAILED order is claimed for a retry, then its close reason is cleared and its PAYMENT_RETRIED event is written with it', async () => {
    const created = await createOrder(h, tenant);
    await sqlOf(db()).query(
      "UPDATE pay_order SET status = 'FAILED', close_reason = 'PAYMENT_FAILED', version = version + 1 WHERE pay_no = ?",
      [created.payNo],
    );
    const order = await stored(created.payNo);
    const claimed = await claimOrder(db(), order, fresh(order), {
      ...claimOpts,
      detail: 'retry MOCK after 1 failed attempt',
      set: { ...claimOpts.set, closeReason: null },
      event: 'PAYMENT_RETRIED',
    });
    expect(claimed?.order).toMatchObject({ status: 'PAYING', closeReason: null });
    expect(await stored(order.payNo)).toMatchObject({ status: 'PAYING', closeReason: null, version: order.version + 1n });
    const events = await db().outboxEvent.findMany({ where: { payNo: order.payNo } });
    expect(events.map((e) => [e.type, e.orderVersion, e.topic, e.status])).toEqual([
      ['PAYMENT_RETRIED', order.version + 1n, order.notifyTopic, 'PENDING'],
    ]);
    expect(events[0].createdAt.getTime()).toBe(claimed?.order.updatedAt.getTime());
    const [wire] = await sqlOf(db()).query<{ type: string; payNo: string; status: string; version: string }[]>(
      `SELECT JSON_VALUE(payload, '$.type') AS type, JSON_VALUE(payload, '$.payNo') AS payNo, JSON_VALUE(payload, '$.status') AS status,
              JSON_VALUE(payload, '$.version') AS version FROM outbox_event WHERE pay_no = ?`,
      [order.payNo],
    );
    expect(wire).toEqual({
      type: 'PAYMENT_EVENT_TYPE_PAYMENT_RETRIED',
      payNo: order.payNo,
      status: 'ORDER_STATUS_PAYING',
      version: String(order.version + 1n),
    });
  });

  it('When the order changed since it was read (the compare-and-set loses), then nothing is written and the claim answers undefined', async () => {
    const order = await stored((await createOrder(h, tenant)).payNo);
    await sqlOf(db()).query('UPDATE pay_order SET version = version + 1 WHERE pay_no = ?', [order.payNo]);
    const changed = await stored(order.payNo);
    expect(await claimOrder(db(), order, fresh(order), claimOpts)).toBeUndefined();
    expect(await stored(order.payNo)).toEqual(changed);
    expect([await count('pay_attempt', order.payNo), await count('order_transition', order.payNo)]).toEqual([0, 0]);
  });

  it('When a write after the compare-and-set fails (the attempt number is taken), then the whole claim is rolled back and the error raised', async () => {
    const other = await stored((await createOrder(h, tenant)).payNo);
    const taken = fresh(other);
    await claimOrder(db(), other, taken, claimOpts);
    const order = await stored((await createOrder(h, tenant)).payNo);
    await expect(claimOrder(db(), order, fresh(order, taken.attemptNo), claimOpts)).rejects.toMatchObject({ errno: 1062 });
    expect(await stored(order.payNo)).toEqual(order); // the compare-and-set that ran first is undone

    // And the connection it ran on is not left inside the claim's transaction, for its next statement to commit.
    const caller: Connection = await connect();
    try {
      await expect(caller.execute(CLAIM_ATTEMPT, callArgs(order, taken.attemptNo))).rejects.toMatchObject({ errno: 1062 });
      expect(await inTransaction(caller)).toBe(false);
      await caller.query('COMMIT');
    } finally {
      await caller.end();
    }
    expect(await stored(order.payNo)).toEqual(order);
    expect([await count('pay_attempt', order.payNo), await count('order_transition', order.payNo)]).toEqual([0, 0]);
  });

  it('When a write after the compare-and-set times out on a lock, then the whole claim is rolled back, not just that statement', async () => {
    // InnoDB rolls back only the statement that timed out (innodb_rollback_on_timeout is off): a client-driven
    // transaction would still hold the order's compare-and-set, to be committed by whoever sends COMMIT next.
    const order = await stored((await createOrder(h, tenant)).payNo);
    const holder: Connection = await connect();
    const caller: Connection = await connect();
    try {
      await lockTheAuditTrail(holder);
      await caller.query('SET SESSION innodb_lock_wait_timeout = 1');
      await expect(caller.execute(CLAIM_ATTEMPT, callArgs(order, newAttemptNo(new Date())))).rejects.toMatchObject({ errno: 1205 });
      expect(await inTransaction(caller)).toBe(false); // rolled back and ended, not left open on the connection
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await caller.end();
    }
    expect(await stored(order.payNo)).toEqual(order);
    expect([await count('pay_attempt', order.payNo), await count('order_transition', order.payNo)]).toEqual([0, 0]);
  });

  it('When the CALL is killed while it waits after the compare-and-set, then no lock and no change of it is left', async () => {
    // KILL QUERY (an operator, max_statement_time) on a claim waiting for a lock: MariaDB 10.11 ends the procedure
    // with 1317 and its transaction rolled back. Had it been left open on the pool's connection, the next caller of that
    // connection would commit it or wait on its lock; callProcedure rolls back after any error in any case (below).
    const order = await stored((await createOrder(h, tenant)).payNo);
    const holder: Connection = await connect();
    const probe: Connection = await connect();
    try {
      await lockTheAuditTrail(holder);
      const claiming = claimOrder(db(), order, fresh(order), claimOpts);
      claiming.catch(() => undefined); // awaited below
      const id = await eventually(async () => {
        const [row] = await probe.query<{ id: bigint }[]>(
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO `order\\_transition`%'",
        );
        return row?.id;
      });
      await probe.query(`KILL QUERY ${id}`);
      await expect(claiming).rejects.toMatchObject({ errno: 1317 }); // query execution was interrupted
      await holder.query('ROLLBACK');
      await expectNobodyHolds(order.payNo);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await probe.end();
    }
    expect(await stored(order.payNo)).toEqual(order);
    expect(await claimOrder(db(), order, fresh(order), claimOpts)).toBeDefined(); // and the order can be claimed
  });

  it('When a procedure fails and leaves its transaction open (no handler ran), then callProcedure rolls its connection back before the pool hands it on', async () => {
    // What a fatal error, or a kill where the server does not roll back, would leave: a procedure of the test's own
    // that writes in a transaction and fails without a handler.
    const order = await stored((await createOrder(h, tenant)).payNo);
    const name = `leaves_open_${Date.now()}`;
    await sqlOf(db()).query(
      `CREATE PROCEDURE ${name}(IN p_pay_no VARCHAR(32)) BEGIN START TRANSACTION; ` +
        `UPDATE pay_order SET version = version + 1 WHERE pay_no = p_pay_no; SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'left open'; END`,
      [],
    );
    try {
      await expect(callProcedure(db(), `CALL ${name}(?)`, [order.payNo])).rejects.toThrow('left open');
      await expectNobodyHolds(order.payNo);
      // Every connection of the pool, in turn: none is left inside that transaction.
      const pool = sqlPool(db());
      const conns = await Promise.all(Array.from({ length: pool.totalConnections() }, () => pool.getConnection()));
      try {
        for (const conn of conns) expect(await inTransaction(conn)).toBe(false);
      } finally {
        await Promise.all(conns.map((c) => c.release()));
      }
    } finally {
      await sqlOf(db()).query(`DROP PROCEDURE ${name}`, []);
    }
    expect(await stored(order.payNo)).toEqual(order);
  });

  it('When the claim is a deadlock victim, then nothing of it is left, and the retried claim opens one attempt', async () => {
    const order = await createOrder(h, tenant);
    const bystander = await createOrder(h, tenant);
    // The other transaction: heavier (InnoDB rolls back the lighter one), holding every row and gap of
    // order_transition, so the claim's audit INSERT waits on it; then it asks for the order row the claim holds.
    const other: Connection = await connect();
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
      // The claim has compare-and-set the order and its audit INSERT waits for the lock on order_transition (MariaDB
      // shows a procedure's statement running, not its CALL).
      await eventually(async () => {
        const [row] = await other.query<{ n: bigint }[]>(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO `order\\_transition`%'",
        );
        return Number(row.n) >= 1;
      });
      const deadlocks = async (): Promise<number> => {
        const [row] = await other.query<{ n: string }[]>(
          "SELECT VARIABLE_VALUE AS n FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'",
        );
        return Number(row.n);
      };
      const before = await deadlocks();
      // A deadlock: InnoDB rolls the claim back (one row changed, against this one's twenty). This UPDATE returns only
      // once the claim let go of the order row, which it cannot have done by finishing: its INSERT waits on this.
      await other.query('UPDATE pay_order SET updated_at = updated_at WHERE pay_no = ?', [order.payNo]);
      expect((await deadlocks()) - before).toBeGreaterThanOrEqual(1); // the counter is the server's: another suite may add to it
      await other.query('ROLLBACK');

      const answer = await prepay; // claimAttempt tried again (retryConflicts), once the other transaction let go
      const attempts = await db().payAttempt.findMany({ where: { payNo: order.payNo } });
      expect(attempts.map((a) => [a.attemptNo, a.status])).toEqual([[answer.attemptNo, 'OPEN']]);
      const trail = await db().orderTransition.findMany({ where: { payNo: order.payNo } });
      expect(trail.map((t) => [t.fromStatus, t.toStatus])).toEqual([['WAIT_PAY', 'PAYING']]);
    } finally {
      await other.end();
    }
  });
});
