import type { OrderTransition } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import type { OrderRef, OrderWithChildren, PayAttempt, Refund } from './pay-orders';
import { PAY_ORDER_COLUMNS, toPayOrder, type PayOrderRow } from './rows';
import { sqlOf } from './sql';

/** An order as Query shows it: the row, its attempts and refunds (oldest first) and its audit trail. */
export type OrderView = OrderWithChildren & { transitions: OrderTransition[] };

/** DATETIME(3) as ISO text (stored as UTC wall time), so it parses to the same Date Prisma reads. */
const iso = (col: string) => `CONCAT(LEFT(DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')`;
/** BIGINT as text: a JSON number above 2^53 would lose digits in JSON.parse. */
const big = (col: string) => `CAST(${col} AS CHAR)`;

/** Everything but the key: the statement's text is the same for every call, so the driver keeps it prepared. */
const SELECT_VIEW = `
    SELECT ${PAY_ORDER_COLUMNS},
           (SELECT JSON_ARRAYAGG(JSON_OBJECT(
                     'id', ${big('a.id')}, 'attemptNo', a.attempt_no, 'payNo', a.pay_no, 'tenantId', a.tenant_id,
                     'payWay', a.pay_way, 'channel', a.channel, 'status', a.status, 'payload', a.payload,
                     'payerId', a.payer_id, 'clientIp', a.client_ip, 'channelTradeNo', a.channel_trade_no,
                     'createdAt', ${iso('a.created_at')}, 'updatedAt', ${iso('a.updated_at')},
                     'payerChannelId', a.payer_channel_id, 'payerAccount', a.payer_account,
                     'paidAmount', ${big('a.paid_amount')}, 'paidAt', ${iso('a.paid_at')},
                     'fee', ${big('a.fee')}, 'netAmount', ${big('a.net_amount')},
                     'channelRecords', JSON_EXTRACT(a.channel_records, '$')) ORDER BY a.id)
              FROM pay_attempt a WHERE a.pay_no = o.pay_no) AS attempts,
           (SELECT JSON_ARRAYAGG(JSON_OBJECT(
                     'id', ${big('r.id')}, 'refundNo', r.refund_no, 'tenantId', r.tenant_id, 'outRefundNo', r.out_refund_no,
                     'payNo', r.pay_no, 'attemptNo', r.attempt_no, 'duplicate', r.duplicate, 'amount', ${big('r.amount')},
                     'currency', r.currency,
                     'reason', r.reason, 'status', r.status, 'channelRefundNo', r.channel_refund_no,
                     'failureReason', r.failure_reason, 'requestedBy', r.requested_by, 'createdAt', ${iso('r.created_at')},
                     'updatedAt', ${iso('r.updated_at')}, 'succeededAt', ${iso('r.succeeded_at')},
                     'fee', ${big('r.fee')},
                     'channelRecords', JSON_EXTRACT(r.channel_records, '$')) ORDER BY r.id)
              FROM refund r WHERE r.pay_no = o.pay_no) AS refunds,
           (SELECT JSON_ARRAYAGG(JSON_OBJECT(
                     'id', ${big('t.id')}, 'payNo', t.pay_no, 'fromStatus', t.from_status, 'toStatus', t.to_status,
                     'cause', t.cause, 'detail', t.detail, 'actor', t.actor, 'createdAt', ${iso('t.created_at')}) ORDER BY t.id)
              FROM order_transition t WHERE t.pay_no = o.pay_no) AS transitions
      FROM pay_order o`;
const BY_PAY_NO = `${SELECT_VIEW} WHERE o.pay_no = ? AND o.tenant_id = ?`;
const BY_OUT_ORDER_NO = `${SELECT_VIEW} WHERE o.tenant_id = ? AND o.out_order_no = ?`;

/**
 * The order with everything Query shows, in one statement (one round trip, prepared once per connection): the
 * row, plus each child table as a JSON array built by an index-backed sub-select (idx_pay_attempt_pay_no,
 * idx_refund_pay_no, idx_order_transition_pay_no). Null when the tenant has no order keyed exactly so (the keys
 * are checked again byte for byte: utf8mb4_bin ignores trailing spaces).
 */
export async function findOrderView(db: Db, ref: OrderRef): Promise<OrderView | null> {
  const [sql, key] = 'payNo' in ref ? [BY_PAY_NO, ref.payNo] : [BY_OUT_ORDER_NO, ref.outOrderNo];
  const values = 'payNo' in ref ? [key, ref.tenantId] : [ref.tenantId, key];
  const [row] = await sqlOf(db).query<ViewRow[]>(sql, values);
  if (!row || row.tenant_id !== ref.tenantId || ('payNo' in ref ? row.pay_no : row.out_order_no) !== key) return null;
  const { attempts, refunds, transitions, ...order } = row;
  return {
    ...toPayOrder(order),
    attempts: children<AttemptJson>(attempts).map((a) => ({
      ...a,
      id: BigInt(a.id),
      fee: BigInt(a.fee),
      netAmount: BigInt(a.netAmount),
      createdAt: date(a.createdAt),
      updatedAt: date(a.updatedAt),
      paidAmount: a.paidAmount === null ? null : BigInt(a.paidAmount),
      paidAt: a.paidAt === null ? null : date(a.paidAt),
    })),
    refunds: children<RefundJson>(refunds).map((r) => ({
      ...r,
      id: BigInt(r.id),
      duplicate: Boolean(r.duplicate), // a TINYINT(1): 0 or 1 in the JSON
      amount: BigInt(r.amount),
      fee: BigInt(r.fee),
      createdAt: date(r.createdAt),
      updatedAt: date(r.updatedAt),
      succeededAt: r.succeededAt === null ? null : date(r.succeededAt),
    })),
    transitions: children<TransitionJson>(transitions).map((t) => ({ ...t, id: BigInt(t.id), createdAt: date(t.createdAt) })),
  };
}

/** Each child row as the JSON carries it: BIGINTs and DATETIMEs as text, everything else as the column's own value. */
type AsJson<T, Big extends keyof T, Time extends keyof T> = Omit<T, Big | Time> & {
  [K in Big]: null extends T[K] ? string | null : string;
} & {
  [K in Time]: null extends T[K] ? string | null : string;
};
type AttemptJson = AsJson<PayAttempt, 'id' | 'paidAmount' | 'fee' | 'netAmount', 'createdAt' | 'updatedAt' | 'paidAt'>;
type RefundJson = Omit<AsJson<Refund, 'id' | 'amount' | 'fee', 'createdAt' | 'updatedAt' | 'succeededAt'>, 'duplicate'> & {
  duplicate: number | boolean;
};
type TransitionJson = AsJson<OrderTransition, 'id', 'createdAt'>;
type ViewRow = PayOrderRow & { attempts: unknown; refunds: unknown; transitions: unknown };

/** A JSON_ARRAYAGG column: NULL when there are no rows; the driver hands back text or the parsed array. */
function children<T>(value: unknown): T[] {
  if (value === null || value === undefined) return [];
  return (typeof value === 'string' ? JSON.parse(value) : value) as T[];
}

const date = (text: string): Date => new Date(text);
