import { inFlightMarker, markOpen, openAttempt } from '../../src/app/open-attempt';
import { channelFor } from '../../src/app/channel-accounts';
import { prepay } from '../../src/app/prepay';
import { closeDb, createDb, sqlPool } from '../../src/infra/db';
import { newAttemptNo } from '../../src/domain/ids';
import { runTx } from '../../src/repo/tx';
import { transition } from '../../src/app/transition';
import { findAttempt, findOrder, insertAttempt } from '../../src/repo/pay-orders';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder } from '../support/orders';

/**
 * An attempt becomes OPEN in one UPDATE that reads its order and requires it to be the order's current attempt
 * (issue 13: it was a five-statement transaction that locked the order; then a join, now a sub-select). What makes
 * that safe is the shared lock the read takes on the order row, before the attempt's: a claim of a newer attempt
 * that is in flight must be waited for, and then seen.
 */
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-prepaysql');
});
afterAll(() => h.close());

const command = (payNo: string) => ({ ref: { tenantId: tenant, payNo }, payWay: 'MOCK', clientIp: '127.0.0.1', payerId: '' });

/** An order whose current attempt is CREATED (its prepay unanswered), as the database holds both. */
async function orderWithCreatedAttempt() {
  const order = await createOrder(h, tenant);
  h.gateway.inject({ kind: 'serverError' }, 1);
  await expect(prepay(h.service.deps, command(order.payNo), {})).rejects.toMatchObject({ name: 'ChannelUnavailableError' });
  const db = h.service.deps.db;
  const [older] = await db.payAttempt.findMany({ where: { payNo: order.payNo } });
  expect(older.status).toBe('CREATED'); // the order's current attempt, not yet open
  const stored = (await findOrder(db, { tenantId: tenant, payNo: order.payNo }))!;
  expect(stored.currentAttemptNo).toBe(older.attemptNo);
  return { order, older, stored, db };
}

const opened = {
  payload: { kind: 'mockPayUrl', value: 'x' },
  channelTradeNo: 'T1',
  record: { operation: 'prepay', endpoint: 'test', sent: {}, answer: { outcome: 'success' }, at: new Date().toISOString() },
} as const;

/** Longer than InnoDB's INNODB_TRX snapshot is kept while it is being read (see someoneWaitsForALock). */
const INNODB_TRX_REFRESH_MS = 150;

/**
 * Resolves once some transaction of the test database waits for a lock (seen from a connection of its own). InnoDB
 * serves INNODB_TRX from a snapshot it refreshes only when the last read of it is over 0.1 s old (CACHE_MIN_IDLE_TIME_US
 * in trx0i_s.cc): polled every 25 ms, a snapshot taken before the wait began is read for ever and the test timed out
 * (a rare flake, seen when the observer's first read beat the waiting UPDATE). So each look comes 0.15 s after the last.
 */
async function someoneWaitsForALock(): Promise<void> {
  const observer = createDb(process.env.DATABASE_URL!, 1);
  try {
    await eventually(async () => {
      await new Promise((resolve) => setTimeout(resolve, INNODB_TRX_REFRESH_MS));
      const [{ n }] = await sqlPool(observer).query<{ n: bigint }[]>(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
      );
      return n > 0n;
    });
  } finally {
    await closeDb(observer);
  }
}

describe('opening an attempt', () => {
  it('When the claim of a newer attempt is in flight, then opening the older one waits for it, and then does not open it', async () => {
    const { order, older, stored, db } = await orderWithCreatedAttempt();

    // A switch's claim, written as Prepay's claim writes it, holds its transaction open.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let claimed!: () => void;
    const inClaim = new Promise<void>((resolve) => (claimed = resolve));
    const newer = newAttemptNo(new Date());
    const claim = runTx(db, async (tx) => {
      await transition(tx, stored, 'PAYING', {
        cause: 'RPC',
        detail: 'test: a switch',
        set: { currentAttemptNo: newer },
        checkVersion: true,
      });
      await insertAttempt(tx, {
        attemptNo: newer,
        payNo: order.payNo,
        tenantId: tenant,
        payWay: 'MOCK',
        channel: 'mock',
        payerId: '',
        clientIp: '',
      });
      claimed();
      await held;
    });
    await inClaim;
    const opening = markOpen(h.service.deps, older, opened);
    await someoneWaitsForALock(); // the service's pool may have no connection free: the claim and the UPDATE hold two
    release();
    await claim;
    expect(await opening).toBe('gone');
    const rows = await db.payAttempt.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(rows.map((a) => [a.attemptNo, a.status, a.channelTradeNo])).toEqual([
      [older.attemptNo, 'CREATED', null],
      [newer, 'CREATED', null],
    ]);
  });

  it('When the claim locks the order first and inserts its attempt next to the one being opened, then neither deadlocks', async () => {
    // CI saw a Prepay answer UNAVAILABLE (DATABASE_BUSY) in a switch race: the UPDATE that opens an attempt locked
    // the attempt's index record first and then waited for the order, while the claim holding the order inserted
    // its new attempt into the gap before that record. Locks must be taken in one order: the order, then attempts.
    const { order, older, stored, db } = await orderWithCreatedAttempt();
    const newer = older.attemptNo.slice(0, -1); // sorts just before the older attempt: its insert needs that gap
    let updated!: () => void;
    const orderLocked = new Promise<void>((resolve) => (updated = resolve));
    let insert!: () => void;
    const mayInsert = new Promise<void>((resolve) => (insert = resolve));
    const claim = runTx(db, async (tx) => {
      await transition(tx, stored, 'PAYING', {
        cause: 'RPC',
        detail: 'test: a switch',
        set: { currentAttemptNo: newer },
        checkVersion: true,
      });
      updated();
      await mayInsert;
      await insertAttempt(tx, {
        attemptNo: newer,
        payNo: order.payNo,
        tenantId: tenant,
        payWay: 'MOCK',
        channel: 'mock',
        payerId: '',
        clientIp: '',
      });
    });
    await orderLocked;
    const opening = markOpen(h.service.deps, older, opened);
    await someoneWaitsForALock();
    insert();
    await claim;
    expect(await opening).toBe('gone');
    const rows = await db.payAttempt.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(rows.map((a) => [a.attemptNo, a.status])).toEqual([
      [older.attemptNo, 'CREATED'],
      [newer, 'CREATED'],
    ]);
  });

  it('When the order was paid by another attempt while the channel opened this one, then it is not opened: closed at the channel, and Prepay says ORDER_ALREADY_PAID', async () => {
    // Found in review: the UPDATE checked only that the attempt was current, so a retry opened after the declined
    // attempt was paid after all was handed to the buyer, inviting a second payment.
    const { older, stored, db } = await orderWithCreatedAttempt();
    await runTx(db, (tx) => transition(tx, stored, 'SUCCESS', { cause: 'NOTIFY', detail: 'test: another attempt paid' }));
    expect(await markOpen(h.service.deps, older, opened)).toBe('gone');
    expect((await db.payAttempt.findUniqueOrThrow({ where: { attemptNo: older.attemptNo } })).status).toBe('CREATED');

    // Through Prepay's own opening: the channel opens the trade, the UPDATE refuses, the trade is closed again.
    const deps = h.service.deps;
    const ctx = { actor: 'test' };
    const { handler, call } = await channelFor(deps, tenant, 'MOCK', ctx);
    const marker = await inFlightMarker(deps, older.attemptNo);
    if (marker === 'held') throw new Error('marker held');
    const attempt = (await findAttempt(db, older.attemptNo))!;
    await expect(openAttempt(deps, { order: stored, attempt, superseded: [], handler, call, marker, ctx })).rejects.toMatchObject({
      reason: 'ORDER_ALREADY_PAID',
    });
    await marker.release();
    expect(h.gateway.trade(older.attemptNo)?.status).toBe('CLOSED');
    expect((await db.payAttempt.findUniqueOrThrow({ where: { attemptNo: older.attemptNo } })).status).toBe('CLOSED');
  });
});
