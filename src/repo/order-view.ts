import type { OrderTransition } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import type { OrderRef, OrderWithChildren } from './pay-orders';
import {
  byId,
  PAY_ATTEMPT_COLUMNS,
  PAY_ORDER_COLUMNS,
  REFUND_COLUMNS,
  toPayAttempt,
  toPayOrder,
  toRefund,
  type PayAttemptRow,
  type PayOrderRow,
  type RefundRow,
} from './rows';
import { sqlOf } from './sql';

/** An order as Query shows it: the row, its attempts and refunds (oldest first) and its audit trail. */
export type OrderView = OrderWithChildren & { transitions: OrderTransition[] };

const TRANSITION_COLUMNS = 'id, pay_no, from_status, to_status, cause, detail, actor, created_at';
interface TransitionRow {
  id: bigint;
  pay_no: string;
  from_status: OrderTransition['fromStatus'];
  to_status: OrderTransition['toStatus'];
  cause: OrderTransition['cause'];
  detail: string;
  actor: string;
  created_at: Date;
}
const toTransition = (r: TransitionRow): OrderTransition => ({
  id: r.id,
  payNo: r.pay_no,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  cause: r.cause,
  detail: r.detail,
  actor: r.actor,
  createdAt: r.created_at,
});

/**
 * What the driver makes of a column (the union of one place must hold one kind only): BIGINT, INT, TINYINT(1),
 * DATETIME(3), JSON, CHAR, and VARCHAR or ENUM (both text). MariaDB types a union's column from every branch's
 * column in that place: an INT beside a BIGINT would come back as a BigInt, a DATETIME beside a VARCHAR as text.
 * query-one-statement.test.ts checks each kind below against information_schema.
 */
export type ColumnKind = 'bigint' | 'int' | 'bool' | 'dt3' | 'json' | 'char' | 'str';
const KIND_ORDER: readonly ColumnKind[] = ['bigint', 'int', 'bool', 'dt3', 'json', 'char', 'str'];

/**
 * The four tables Query reads, each a branch of one UNION ALL, with each column's kind in the order of its
 * columns. Children are reached through their order (joined on pay_no, under the same tenant and key), so no
 * branch reads another tenant's rows.
 */
const TABLES = [
  {
    prefix: 'o',
    table: 'pay_order',
    from: 'pay_order o',
    columns: PAY_ORDER_COLUMNS,
    kinds:
      'bigint str str str bigint char str str str str str str str json str str int dt3 bigint bigint str dt3 str bigint int str ' +
      'dt3 dt3 bigint bigint bigint',
  },
  {
    prefix: 'a',
    table: 'pay_attempt',
    from: 'pay_order o JOIN pay_attempt a ON a.pay_no = o.pay_no',
    columns: PAY_ATTEMPT_COLUMNS,
    kinds: 'bigint str str str str str str json str str str dt3 dt3 str str bigint dt3 json bigint bigint',
  },
  {
    prefix: 'r',
    table: 'refund',
    from: 'pay_order o JOIN refund r ON r.pay_no = o.pay_no',
    columns: REFUND_COLUMNS,
    kinds: 'bigint str str str str str bool bigint char str str str str str dt3 dt3 dt3 json bigint',
  },
  {
    prefix: 't',
    table: 'order_transition',
    from: 'pay_order o JOIN order_transition t ON t.pay_no = o.pay_no',
    columns: TRANSITION_COLUMNS,
    kinds: 'bigint str str str str str str dt3',
  },
] as const;

/**
 * A result row has `part` in place 0, then places grouped by kind, as many of a kind as the branch with the most
 * columns of that kind needs; every branch puts its columns in the places of their kind, in order, and NULL in the
 * rest. 34 places where a place per column of every table took 79: MariaDB prepared, typed and sent 45 fewer
 * columns per row (~20 % of its CPU per Query, measured one connection at a time on the bench tables).
 */
export const VIEW_PARTS = layout();

function layout(): { prefix: string; table: string; from: string; columns: string[]; kinds: ColumnKind[]; places: number[] }[] {
  const parts = TABLES.map((t) => {
    const columns = t.columns.split(',').map((c) => c.trim());
    const kinds = t.kinds.split(' ') as ColumnKind[];
    if (kinds.length !== columns.length || kinds.some((k) => !KIND_ORDER.includes(k))) {
      throw new Error(`order-view: ${t.prefix} has ${columns.length} columns and ${kinds.length} kinds`);
    }
    return { prefix: t.prefix, table: t.table, from: t.from, columns, kinds };
  });
  const first = new Map<ColumnKind, number>();
  let next = 1; // place 0 is `part`
  for (const kind of KIND_ORDER) {
    first.set(kind, next);
    next += Math.max(...parts.map((p) => p.kinds.filter((k) => k === kind).length));
  }
  return parts.map((p) => {
    const used = new Map<ColumnKind, number>();
    const places = p.kinds.map((kind) => {
      const n = used.get(kind) ?? 0;
      used.set(kind, n + 1);
      return first.get(kind)! + n;
    });
    return { ...p, places };
  });
}

/** Places in a result row: `part` and every kind's. */
const WIDTH = Math.max(...VIEW_PARTS.flatMap((p) => p.places)) + 1;

/**
 * Rows come back as arrays (the driver's rowsAsArray), read by place: no column needs a name, so the text has no
 * aliases, and the driver builds no 70-property object per row. (Its length once cost a hash of the whole text per
 * call, in the driver's prepared-statement lookup; src/infra/prepare-cache.ts makes that lookup's key once.)
 */
function viewSql(where: string): string {
  return VIEW_PARTS.map((own, part) => {
    const select: string[] = new Array<string>(WIDTH).fill('NULL');
    select[0] = String(part);
    own.columns.forEach((c, i) => (select[own.places[i]] = `${own.prefix}.${c}`));
    return `SELECT ${select.join(',')} FROM ${own.from} WHERE ${where}`;
  }).join(' UNION ALL ');
}

// The texts are the same for every call, so the driver keeps them prepared (one per connection).
const BY_PAY_NO = viewSql('o.pay_no = ? AND o.tenant_id = ?');
const BY_OUT_ORDER_NO = viewSql('o.tenant_id = ? AND o.out_order_no = ?');

type ViewRow = unknown[];

/** One part's columns of a result row, under their own names. */
function columnsOf<T>(row: ViewRow, part: number): T {
  const { columns, places } = VIEW_PARTS[part];
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) out[columns[i]] = row[places[i]];
  return out as T;
}

/**
 * The order with everything Query shows, in one statement (one round trip, prepared once per connection): four
 * index lookups (the order by its key, then idx_pay_attempt_pay_no, idx_refund_pay_no, idx_order_transition_pay_no)
 * under UNION ALL, with no ORDER BY (children are sorted here: sorting the union in MariaDB needs a temporary table
 * and doubled the server's CPU). It replaced one statement with three JSON_ARRAYAGG sub-selects, which cost MariaDB
 * 600–900 µs of CPU per Query against ~200–300 µs for this (measured one call at a time on the bench tables), so
 * Query's rate was bound by the database's CPU. Null when the tenant has no order keyed exactly so (the keys are
 * checked again byte for byte: utf8mb4_bin ignores trailing spaces).
 */
export async function findOrderView(db: Db, ref: OrderRef): Promise<OrderView | null> {
  const [sql, key] = 'payNo' in ref ? [BY_PAY_NO, ref.payNo] : [BY_OUT_ORDER_NO, ref.outOrderNo];
  const pair = 'payNo' in ref ? [key, ref.tenantId] : [ref.tenantId, key];
  const rows = await sqlOf(db).pointReadArrays<ViewRow[]>(sql, [...pair, ...pair, ...pair, ...pair]);
  const orderRow = rows.find((r) => Number(r[0]) === 0);
  if (!orderRow) return null;
  const order = toPayOrder(columnsOf<PayOrderRow>(orderRow, 0));
  if (order.tenantId !== ref.tenantId || ('payNo' in ref ? order.payNo : order.outOrderNo) !== key) return null;
  // Added to the order, not spread into a new object: on Node 20's V8 each property added after a spread is a fresh
  // map transition (~1 µs each, never cached), while these three follow toPayOrder's literal map's cached ones.
  const view: OrderView = Object.assign(order, { attempts: [], refunds: [], transitions: [] });
  for (const row of rows) {
    const part = Number(row[0]);
    if (part === 1) view.attempts.push(toPayAttempt(columnsOf<PayAttemptRow>(row, 1)));
    else if (part === 2) view.refunds.push(toRefund(columnsOf<RefundRow>(row, 2)));
    else if (part === 3) view.transitions.push(toTransition(columnsOf<TransitionRow>(row, 3)));
  }
  view.attempts.sort(byId);
  view.refunds.sort(byId);
  view.transitions.sort(byId);
  return view;
}
