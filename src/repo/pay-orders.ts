import type { PayAttempt, PayOrder, Refund } from '../generated/prisma/client';
import type { AttemptStatus } from '../generated/prisma/enums';
import type { OrderStatus } from '../domain/order-status';
import { sqlPool, type Db } from '../infra/db';
import { PAY_ORDER_COLUMNS, run, toDateTime, toPayOrder, type PayOrderRow } from './sql';
import type { DbOrTx, Tx } from './tx';

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

const FIND_BY_PAY_NO = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order o WHERE o.pay_no = ? AND o.tenant_id = ?`;
const FIND_BY_OUT_ORDER_NO = `SELECT ${PAY_ORDER_COLUMNS} FROM pay_order o WHERE o.tenant_id = ? AND o.out_order_no = ?`;

/**
 * The tenant's order by pay_no or out_order_no: one prepared statement on the driver pool (no Prisma layer).
 * utf8mb4_bin ignores trailing spaces ('a' = 'a '), so the keys are checked again byte for byte: an order is
 * only ever the one its caller named exactly.
 */
export async function findOrder(db: Db, ref: OrderRef): Promise<PayOrder | null> {
  const [sql, key] = 'payNo' in ref ? [FIND_BY_PAY_NO, ref.payNo] : [FIND_BY_OUT_ORDER_NO, ref.outOrderNo];
  const values = 'payNo' in ref ? [key, ref.tenantId] : [ref.tenantId, key];
  const [row] = await run<PayOrderRow[]>(sqlPool(db), sql, values);
  if (!row || row.tenantId !== ref.tenantId || ('payNo' in ref ? row.payNo : row.outOrderNo) !== key) return null;
  return toPayOrder(row);
}

export function findOrderWithChildren(db: DbOrTx, ref: OrderRef): Promise<OrderWithChildren | null> {
  return db.payOrder.findFirst({
    where: whereRef(ref),
    include: { attempts: { orderBy: { id: 'asc' } }, refunds: { orderBy: { id: 'asc' } } },
  });
}

/** Locks the order row for the rest of the transaction. */
export async function lockOrder(tx: Tx, payNo: string): Promise<PayOrder> {
  await tx.$executeRaw`SELECT id FROM pay_order WHERE pay_no = ${payNo} FOR UPDATE`;
  return tx.payOrder.findUniqueOrThrow({ where: { payNo } });
}

/** An order as inserted: everything but its row id, which nobody reads (pay_no names it everywhere). */
export type CreatedOrder = Omit<PayOrder, 'id'>;

const INSERT_ORDER = `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id,
    pay_way, status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'WAIT_PAY', ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * One INSERT, no read-back: CreateOrder is the hottest write, so it is one prepared statement on the driver pool
 * (no Prisma layer; autocommit, no transaction around one row). Throws a duplicate-key error (isDuplicateKey)
 * when (tenant_id, out_order_no) exists; the caller turns that into a replay or a conflict. The row id is not
 * returned: nobody reads it (pay_no names the order everywhere).
 */
export async function insertOrder(db: Db, o: NewOrder): Promise<CreatedOrder> {
  const created = toDateTime(o.createdAt);
  await run(sqlPool(db), INSERT_ORDER, [
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
    toDateTime(o.expireAt),
    created,
    created,
  ]);
  return {
    ...o,
    status: 'WAIT_PAY',
    refundedAmount: 0n,
    refundPendingAmount: 0n,
    channelTradeNo: null,
    paidAt: null,
    closeReason: null,
    version: 1n,
    payWaySwitches: 0,
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
    Pick<PayOrder, 'payWay' | 'channelTradeNo' | 'paidAt' | 'payWaySwitches' | 'refundedAmount' | 'refundPendingAmount' | 'closeReason'>
  >;
}

/** Compare-and-set of the order's status; false means another writer changed it first. Bumps the version. */
export async function casOrderStatus(tx: Tx, c: StatusChange): Promise<boolean> {
  const { count } = await tx.payOrder.updateMany({
    where: { payNo: c.payNo, status: c.from, ...(c.version === undefined ? {} : { version: c.version }) },
    data: { ...c.set, status: c.to, version: { increment: 1 } },
  });
  return count === 1;
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
  const { count } = await tx.payOrder.updateMany({ where: { payNo, version }, data: { ...set, version: { increment: 1 } } });
  return count === 1;
}

/** The order by its pay_no alone (inside a transaction that already knows it is the caller's). */
export function findOrderByPayNo(db: DbOrTx, payNo: string): Promise<PayOrder | null> {
  return db.payOrder.findUnique({ where: { payNo } });
}

/**
 * The order and every attempt of it (oldest first) as of one moment: both reads run in one transaction, so the
 * attempts are the ones of this version of the order. Null when there is no such order.
 */
export async function findOrderAndAttempts(db: Db, ref: OrderRef): Promise<{ order: PayOrder; attempts: PayAttempt[] } | null> {
  const [order, attempts] = await db.$transaction([
    db.payOrder.findFirst({ where: whereRef(ref) }),
    db.payAttempt.findMany({ where: { order: whereRef(ref) }, orderBy: { id: 'asc' } }),
  ]);
  return order && { order, attempts };
}

/** The order's newest attempt: the only one a Prepay may open (a newer one supersedes the older ones). */
export function findNewestAttempt(db: DbOrTx, payNo: string): Promise<PayAttempt | null> {
  return db.payAttempt.findFirst({ where: { payNo }, orderBy: { id: 'desc' } });
}

export function listAttempts(db: DbOrTx, payNo: string, statuses: AttemptStatus[]): Promise<PayAttempt[]> {
  return db.payAttempt.findMany({ where: { payNo, status: { in: statuses } }, orderBy: { id: 'asc' } });
}

/**
 * The attempt numbered exactly `attemptNo`. Channels send it back (out_trade_no), and utf8mb4_bin still ignores
 * trailing spaces, so the match is checked again byte for byte.
 */
export async function findAttempt(db: DbOrTx, attemptNo: string): Promise<PayAttempt | null> {
  const attempt = await db.payAttempt.findUnique({ where: { attemptNo } });
  return attempt?.attemptNo === attemptNo ? attempt : null;
}

/**
 * One INSERT without Prisma's read-back; the row is returned as written, with the id the database gave it
 * (LAST_INSERT_ID() is per connection, and a transaction holds one connection).
 */
export async function insertAttempt(
  tx: Tx,
  a: Pick<PayAttempt, 'attemptNo' | 'payNo' | 'tenantId' | 'payWay' | 'channel' | 'payerId' | 'clientIp'>,
): Promise<PayAttempt> {
  const now = new Date();
  const row = { ...a, status: 'CREATED' as const, payload: null, channelTradeNo: null, createdAt: now, updatedAt: now };
  await tx.payAttempt.createMany({ data: { ...row, payload: undefined } });
  const [{ id }] = await tx.$queryRaw<{ id: bigint | number }[]>`SELECT LAST_INSERT_ID() AS id`;
  return { ...row, id: BigInt(id) };
}

/** Compare-and-set of an attempt's status. */
export async function casAttemptStatus(
  db: DbOrTx,
  attemptNo: string,
  from: AttemptStatus[],
  to: AttemptStatus,
  set: Partial<Pick<PayAttempt, 'payload' | 'channelTradeNo'>> = {},
): Promise<boolean> {
  const { count } = await db.payAttempt.updateMany({
    where: { attemptNo, status: { in: from } },
    data: { ...set, payload: set.payload ?? undefined, status: to },
  });
  return count === 1;
}
