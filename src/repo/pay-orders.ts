import type { PayAttempt, PayOrder, Refund } from '../generated/prisma/client';
import type { AttemptStatus } from '../generated/prisma/enums';
import type { OrderStatus } from '../domain/order-status';
import type { Db } from '../infra/db';
import { byId, PAY_ATTEMPT_COLUMNS, PAY_ORDER_COLUMNS, toPayAttempt, toPayOrder, type PayAttemptRow, type PayOrderRow } from './rows';
import type { ChannelRecord } from '../domain/channel-record';
import { groupInsert, type GroupInsertSpec } from './group-insert';
import { appendRecord, assignments, sqlOf, type Written } from './sql';
import { sqlFor, type Queryable, type Tx } from './tx';

export type { PayAttempt, PayOrder, Refund };
export type OrderWithChildren = PayOrder & { attempts: PayAttempt[]; refunds: Refund[] };

/** How callers name an order: always with its tenant, by pay_no or by the caller's out_order_no. */
export type OrderRef = { tenantId: string } & ({ payNo: string } | { outOrderNo: string });

export interface NewOrder {
  payNo: string;
  tenantId: string;
  outOrderNo: string;
  amount: bigint;
  currency: string;
  subject: string;
  description: string;
  userId: string;
  payWay: string;
  notifyTopic: string;
  attach: string;
  extra: Record<string, string>;
  clientIp: string;
  returnUrl: string;
  expireSeconds: number;
  expireAt: Date;
  createdAt: Date;
}

const whereRef = (ref: OrderRef) =>
  'payNo' in ref ? { payNo: ref.payNo, tenantId: ref.tenantId } : { tenantId: ref.tenantId, outOrderNo: ref.outOrderNo };

const FIND_BY_PAY_NO = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE pay_no = ? AND tenant_id = ?`;
const FIND_BY_OUT_ORDER_NO = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE tenant_id = ? AND out_order_no = ?`;

/**
 * The tenant's order by pay_no or out_order_no: one prepared statement on the driver pool (no Prisma layer).
 * utf8mb4_bin ignores trailing spaces ('a' = 'a '), so the keys are checked again byte for byte: an order is
 * only ever the one its caller named exactly.
 */
export async function findOrder(db: Db, ref: OrderRef): Promise<PayOrder | null> {
  const [sql, key] = 'payNo' in ref ? [FIND_BY_PAY_NO, ref.payNo] : [FIND_BY_OUT_ORDER_NO, ref.outOrderNo];
  const values = 'payNo' in ref ? [key, ref.tenantId] : [ref.tenantId, key];
  const [row] = await sqlOf(db).pointRead<PayOrderRow[]>(sql, values);
  if (!row || row.tenant_id !== ref.tenantId || ('payNo' in ref ? row.pay_no : row.out_order_no) !== key) return null;
  return toPayOrder(row);
}

export function findOrderWithChildren(db: Db, ref: OrderRef): Promise<OrderWithChildren | null> {
  return db.payOrder.findFirst({
    where: whereRef(ref),
    include: { attempts: { orderBy: { id: 'asc' } }, refunds: { orderBy: { id: 'asc' } } },
  });
}

/**
 * Locks the order row for the rest of the transaction and returns it as locked: one statement. Throws when there is
 * no such order (callers lock orders they already found).
 */
export async function lockOrder(tx: Tx, payNo: string): Promise<PayOrder> {
  const [row] = await tx.query<PayOrderRow[]>(LOCK_ORDER, [payNo]);
  if (!row) throw new Error(`order ${payNo} not found`);
  return toPayOrder(row);
}

const LOCK_ORDER = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE pay_no = ? FOR UPDATE`;

/** An order as inserted: everything but its row id, which nobody reads (pay_no names it everywhere). */
export type CreatedOrder = Omit<PayOrder, 'id'>;

const ORDER: GroupInsertSpec<NewOrder> = {
  head: `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id,
    pay_way, status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at) VALUES`,
  row: "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'WAIT_PAY', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  args: (o) => [
    o.payNo,
    o.tenantId,
    o.outOrderNo,
    o.amount,
    o.currency,
    o.subject,
    o.description,
    o.userId,
    o.payWay,
    o.notifyTopic,
    o.attach,
    JSON.stringify(o.extra),
    o.clientIp,
    o.returnUrl,
    o.expireSeconds,
    o.expireAt,
    o.createdAt,
    o.createdAt,
  ],
  maxRows: 32,
  maxInFlight: 4,
  maxChars: 1 << 20,
};
const insertOrders = groupInsert(ORDER);

/**
 * One row, no read-back: CreateOrder is the hottest write, so it is a prepared statement on the driver pool (no
 * Prisma layer; autocommit, no transaction around one row), group-committed with the orders created at the same
 * moment (group-insert.ts: under load they share one INSERT, its parse and its commit; a lone one goes at once).
 * Throws a unique violation (isUniqueViolation) when (tenant_id, out_order_no) exists; the caller turns that into
 * a replay or a conflict. The row id is not returned: nobody reads it (pay_no names the order everywhere).
 */
export async function insertOrder(db: Db, o: NewOrder): Promise<CreatedOrder> {
  await insertOrders(db, o);
  // Every field named, not `{ ...o, status, … }`: on Node 20's V8 a property added after a spread costs ~1 µs
  // (a map transition each time, never cached); this literal costs ~0.2 µs in all (see order-view.ts).
  return {
    payNo: o.payNo,
    tenantId: o.tenantId,
    outOrderNo: o.outOrderNo,
    amount: o.amount,
    currency: o.currency,
    subject: o.subject,
    description: o.description,
    userId: o.userId,
    payWay: o.payWay,
    notifyTopic: o.notifyTopic,
    attach: o.attach,
    extra: o.extra,
    clientIp: o.clientIp,
    returnUrl: o.returnUrl,
    expireSeconds: o.expireSeconds,
    expireAt: o.expireAt,
    createdAt: o.createdAt,
    status: 'WAIT_PAY',
    refundedAmount: 0n,
    refundPendingAmount: 0n,
    fee: 0n,
    netAmount: 0n,
    refundedFee: 0n,
    channelTradeNo: null,
    paidAt: null,
    closeReason: null,
    version: 1n,
    payWaySwitches: 0,
    currentAttemptNo: null,
    updatedAt: o.createdAt,
  };
}

export interface StatusChange {
  payNo: string;
  from: OrderStatus;
  to: OrderStatus;
  /** Also require this version, for writers that must not interleave with any other change. */
  version?: bigint;
  set?: Partial<
    Pick<
      PayOrder,
      | 'payWay'
      | 'channelTradeNo'
      | 'paidAt'
      | 'payWaySwitches'
      | 'refundedAmount'
      | 'refundPendingAmount'
      | 'closeReason'
      | 'currentAttemptNo'
      | 'fee'
      | 'netAmount'
      | 'refundedFee'
    >
  >;
}

/** Compare-and-set of the order's status; false means another writer changed it first. Bumps the version. */
export async function casOrderStatus(tx: Tx, c: StatusChange): Promise<boolean> {
  const { sql, args } = assignments(ORDER_COLUMNS, c.set ?? {});
  const byVersion = c.version === undefined ? '' : ' AND version = ?';
  const text = `UPDATE pay_order SET ${sql}status = ?, version = version + 1, updated_at = ? WHERE pay_no = ? AND status = ?${byVersion}`;
  const values = [...args, c.to, new Date(), c.payNo, c.from, ...(c.version === undefined ? [] : [c.version])];
  const n = await tx.query<Written>(text, values);
  return n.affectedRows === 1;
}

/**
 * Compare-and-set of the order's version alone, for a change the order side must hear of that moves no status
 * (a refund that failed releases its reservation; a second payment of a paid order). False when another writer
 * changed the order first. Bumps the version.
 */
export async function casOrderVersion(
  tx: Tx,
  payNo: string,
  version: bigint,
  set: Partial<Pick<PayOrder, 'refundPendingAmount'>> = {},
): Promise<boolean> {
  const { sql, args } = assignments(ORDER_COLUMNS, set);
  const n = await tx.query<Written>(`UPDATE pay_order SET ${sql}version = version + 1, updated_at = ? WHERE pay_no = ? AND version = ?`, [
    ...args,
    new Date(),
    payNo,
    version,
  ]);
  return n.affectedRows === 1;
}

/** The columns a compare-and-set may write, by field name. */
const ORDER_COLUMNS: Readonly<Record<string, string>> = {
  payWay: 'pay_way',
  channelTradeNo: 'channel_trade_no',
  paidAt: 'paid_at',
  payWaySwitches: 'pay_way_switches',
  refundedAmount: 'refunded_amount',
  refundPendingAmount: 'refund_pending_amount',
  closeReason: 'close_reason',
  currentAttemptNo: 'current_attempt_no',
  fee: 'fee',
  netAmount: 'net_amount',
  refundedFee: 'refunded_fee',
};

/** The order by its pay_no alone (inside a transaction that already knows it is the caller's). */
export async function findOrderByPayNo(db: Queryable, payNo: string): Promise<PayOrder | null> {
  const [row] = await sqlFor(db).query<PayOrderRow[]>(ORDER_BY_PAY_NO, [payNo]);
  return row ? toPayOrder(row) : null;
}

const ORDER_BY_PAY_NO = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order WHERE pay_no = ?`;

/**
 * The order and every attempt of it (oldest first) as of one moment: one statement (the order LEFT JOIN its
 * attempts), so the attempts are the ones of this version of the order. Null when there is no such order.
 */
export async function findOrderAndAttempts(db: Db, ref: OrderRef): Promise<{ order: PayOrder; attempts: PayAttempt[] } | null> {
  const [sql, key] = 'payNo' in ref ? [ORDER_AND_ATTEMPTS_BY_PAY_NO, ref.payNo] : [ORDER_AND_ATTEMPTS_BY_OUT_ORDER_NO, ref.outOrderNo];
  const rows = await sqlOf(db).pointRead<(PayOrderRow & AttemptColumns)[]>(sql, [ref.tenantId, key]);
  if (rows.length === 0) return null;
  const order = toPayOrder(rows[0]);
  const attempts = rows.filter((r) => r.a_id !== null).map((r) => toPayAttempt(unprefixed(r)));
  // Sorted here, not by the statement: ORDER BY a column of the joined table made MariaDB stage the join in an
  // internal temporary table, on disk (Aria) for its JSON columns, on every Prepay (hot-path-temp-tables.test.ts).
  if (attempts.length > 1) attempts.sort(byId);
  return { order, attempts };
}

/** The attempt's columns as the join names them (a_ + column), all null when the order has no attempt. */
type AttemptColumns = { [K in keyof PayAttemptRow as `a_${K}`]: PayAttemptRow[K] };

const unprefixed = (r: AttemptColumns): PayAttemptRow => ({
  id: r.a_id,
  attempt_no: r.a_attempt_no,
  pay_no: r.a_pay_no,
  tenant_id: r.a_tenant_id,
  pay_way: r.a_pay_way,
  channel: r.a_channel,
  status: r.a_status,
  payload: r.a_payload,
  payer_id: r.a_payer_id,
  client_ip: r.a_client_ip,
  channel_trade_no: r.a_channel_trade_no,
  created_at: r.a_created_at,
  updated_at: r.a_updated_at,
  payer_channel_id: r.a_payer_channel_id,
  payer_account: r.a_payer_account,
  paid_amount: r.a_paid_amount,
  paid_at: r.a_paid_at,
  channel_records: r.a_channel_records,
  fee: r.a_fee,
  net_amount: r.a_net_amount,
});

const ORDER_AND_ATTEMPTS = `SELECT ${PAY_ORDER_COLUMNS.split(', ')
  .map((c) => `o.${c}`)
  .join(', ')}, ${PAY_ATTEMPT_COLUMNS.split(', ')
  .map((c) => `a.${c} AS a_${c}`)
  .join(', ')}
  FROM pay_order o LEFT JOIN pay_attempt a ON a.pay_no = o.pay_no`;
const ORDER_AND_ATTEMPTS_BY_PAY_NO = `${ORDER_AND_ATTEMPTS} WHERE o.tenant_id = ? AND o.pay_no = ?`;
const ORDER_AND_ATTEMPTS_BY_OUT_ORDER_NO = `${ORDER_AND_ATTEMPTS} WHERE o.tenant_id = ? AND o.out_order_no = ?`;

/**
 * CREATED -> OPEN, with what the channel answered, only while the attempt is still its order's current one and the
 * order still PAYING (an older attempt paid meanwhile must not leave a newer one payable): one UPDATE of the attempt
 * whose condition reads the order's current attempt with a shared lock (LOCK IN SHARE MODE, so under READ COMMITTED
 * too), so it waits for a claim of a newer attempt that is in flight and then sees it: once a claim has committed,
 * the attempt it superseded can never become OPEN. False when the attempt is not CREATED or not current, or the
 * order is no longer PAYING.
 *
 * The order row is locked before the attempt, as every transaction that writes both does: the sub-select names the
 * order by its key and does not depend on the attempt, so MariaDB reads it (and waits for its lock) while planning,
 * before the attempt's index record is touched. Locked the other way round, the UPDATE held the attempt's record
 * while it waited for the order, and a claim holding the order deadlocked on it when its new attempt went into the
 * gap before that record (open-attempt-lock.test.ts has both). FORCE INDEX keeps the attempt found by its number
 * (the planner otherwise liked the short (status, updated_at) range on a small table).
 *
 * A single-table UPDATE, not a join: a multi-table UPDATE stages the changes of every table after the first in an
 * internal temporary table, on disk for the JSON columns, created and deleted on every Prepay
 * (hot-path-temp-tables.test.ts).
 */
export async function openIfCurrent(
  db: Queryable,
  attempt: { attemptNo: string; payNo: string },
  set: { payload: object; channelTradeNo: string | null; record: ChannelRecord },
): Promise<boolean> {
  const n = await sqlFor(db).query<Written>(OPEN_IF_CURRENT, [
    JSON.stringify(set.payload),
    set.channelTradeNo,
    JSON.stringify(set.record),
    new Date(),
    attempt.attemptNo,
    attempt.payNo,
    attempt.payNo,
  ]);
  return n.affectedRows === 1;
}

const OPEN_IF_CURRENT = `UPDATE pay_attempt a FORCE INDEX (uk_pay_attempt_attempt_no)
  SET a.payload = ?, a.channel_trade_no = ?, ${appendRecord('a.channel_records')}a.status = 'OPEN', a.updated_at = ?
  WHERE a.attempt_no = ? AND a.pay_no = ? AND a.status = 'CREATED'
    AND a.attempt_no = (SELECT o.current_attempt_no FROM pay_order o WHERE o.pay_no = ? AND o.status = 'PAYING' LOCK IN SHARE MODE)`;

export async function listAttempts(db: Queryable, payNo: string, statuses: AttemptStatus[]): Promise<PayAttempt[]> {
  if (statuses.length === 0) return [];
  const rows = await sqlFor(db).query<PayAttemptRow[]>(
    `SELECT ${PAY_ATTEMPT_COLUMNS} FROM pay_attempt WHERE pay_no = ? AND status IN (${statuses.map(() => '?').join(', ')}) ORDER BY id`,
    [payNo, ...statuses],
  );
  return rows.map(toPayAttempt);
}

/**
 * The attempt numbered exactly `attemptNo`. Channels send it back (out_trade_no), and utf8mb4_bin still ignores
 * trailing spaces, so the match is checked again byte for byte.
 */
export async function findAttempt(db: Queryable, attemptNo: string): Promise<PayAttempt | null> {
  const [row] = await sqlFor(db).query<PayAttemptRow[]>(ATTEMPT_BY_NO, [attemptNo]);
  return row?.attempt_no === attemptNo ? toPayAttempt(row) : null;
}

const ATTEMPT_BY_NO = `SELECT ${PAY_ATTEMPT_COLUMNS} FROM pay_attempt WHERE attempt_no = ?`;

/** One INSERT; the row is returned as written, with the id the database gave it (from the same statement's answer). */
export async function insertAttempt(tx: Tx, a: NewAttempt): Promise<PayAttempt> {
  const row = newAttemptRow(a, new Date());
  const args = [a.attemptNo, a.payNo, a.tenantId, a.payWay, a.channel, a.payerId, a.clientIp, row.createdAt, row.updatedAt];
  const written = await tx.query<Written>(INSERT_ATTEMPT, args);
  row.id = BigInt(written.insertId);
  return row;
}

/** A new attempt as its INSERT writes it (CREATED, nothing from the channel yet); its id is the caller's to set. */
export function newAttemptRow(a: NewAttempt, now: Date): PayAttempt {
  // Named field by field, not spread (see insertOrder).
  return {
    id: 0n,
    attemptNo: a.attemptNo,
    payNo: a.payNo,
    tenantId: a.tenantId,
    payWay: a.payWay,
    channel: a.channel,
    payerId: a.payerId,
    clientIp: a.clientIp,
    status: 'CREATED',
    payload: null,
    channelTradeNo: null,
    payerChannelId: null,
    payerAccount: null,
    paidAmount: null,
    paidAt: null,
    channelRecords: null,
    fee: 0n,
    netAmount: 0n,
    createdAt: now,
    updatedAt: now,
  };
}

export type NewAttempt = Pick<PayAttempt, 'attemptNo' | 'payNo' | 'tenantId' | 'payWay' | 'channel' | 'payerId' | 'clientIp'>;

const INSERT_ATTEMPT =
  'INSERT INTO pay_attempt (attempt_no, pay_no, tenant_id, pay_way, channel, status, payer_id, client_ip, created_at, updated_at) ' +
  "VALUES (?, ?, ?, ?, ?, 'CREATED', ?, ?, ?, ?)";

/** What an attempt's compare-and-set may write with its status: the payment as the channel reported it, and a record. */
export type AttemptSet = Partial<
  Pick<PayAttempt, 'payload' | 'channelTradeNo' | 'payerChannelId' | 'payerAccount' | 'paidAmount' | 'paidAt' | 'fee' | 'netAmount'>
> & {
  /** Appended to the attempt's channel records (the newest KEPT_CHANNEL_RECORDS are kept), in the same statement. */
  record?: ChannelRecord;
};

/** Compare-and-set of an attempt's status, with whatever `set` carries: one statement. */
export async function casAttemptStatus(
  db: Queryable,
  attemptNo: string,
  from: AttemptStatus[],
  to: AttemptStatus,
  { record, payload, ...set }: AttemptSet = {},
): Promise<boolean> {
  // payload first, the rest spread after it: a property added after a spread costs ~1 µs on Node 20 (see insertOrder).
  const { sql, args } = assignments(ATTEMPT_COLUMNS, { payload: payload == null ? undefined : JSON.stringify(payload), ...set });
  const append = record ? APPEND_ATTEMPT_RECORD : '';
  const n = await sqlFor(db).query<Written>(
    `UPDATE pay_attempt SET ${sql}${append}status = ?, updated_at = ? WHERE attempt_no = ? AND status IN (${from.map(() => '?').join(', ')})`,
    [...args, ...(record ? [JSON.stringify(record)] : []), to, new Date(), attemptNo, ...from],
  );
  return n.affectedRows === 1;
}

/**
 * Marks an open attempt as just asked (updated_at is "last asked", see stampAttempts) and keeps what the channel
 * answered: one statement, the status sync's own stamp with the record in it. False once the attempt is settled.
 */
export async function stampAttemptAsked(db: Queryable, attemptNo: string, record: ChannelRecord): Promise<boolean> {
  const n = await sqlFor(db).query<Written>(STAMP_ASKED, [JSON.stringify(record), new Date(), attemptNo]);
  return n.affectedRows === 1;
}

const ATTEMPT_COLUMNS: Readonly<Record<string, string>> = {
  payload: 'payload',
  channelTradeNo: 'channel_trade_no',
  payerChannelId: 'payer_channel_id',
  payerAccount: 'payer_account',
  paidAmount: 'paid_amount',
  paidAt: 'paid_at',
  fee: 'fee',
  netAmount: 'net_amount',
};
const APPEND_ATTEMPT_RECORD = appendRecord('channel_records');
const STAMP_ASKED = `UPDATE pay_attempt SET ${APPEND_ATTEMPT_RECORD}updated_at = ? WHERE attempt_no = ? AND status IN ('CREATED', 'OPEN')`;
