import type { Connection } from 'mariadb';

/**
 * Loads orders straight into the scratch database with INSERT … SELECT over MariaDB's sequence tables (seq_A_to_B):
 * the rows are made by the server, 50,000 per statement, and every trigger fires as it would for the service's own
 * writes. Order `i` of a tenant is created at a pseudo-random instant of the 90 days before `now` (a multiplicative
 * hash of i, so a later load of more rows spreads over the same days), with a realistic mix: the last 30 minutes
 * WAIT_PAY or PAYING (not yet expired), older ones 65 % SUCCESS, 20 % CLOSED (half never prepaid), 3 % FAILED,
 * 4 % PARTIAL_REFUNDED (a successful and a failed refund), 8 % REFUNDED; one attempt per prepaid order; a delivered
 * outbox event for every fifth order.
 */

const SPAN_MS = 90 * 86400_000;
const CHUNK = 50_000;
export const LOAD_PAY_WAYS = ['ALIPAY_QR', 'ALIPAY_WAP', 'WECHAT_NATIVE', 'WECHAT_JSAPI'] as const;

/** 'YYYY-MM-DD HH:MM:SS.mmm' (UTC), as DATETIME(3) columns hold it. */
export const sqlTime = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

/** Orders [from, to) of one tenant; pay_no is `${prefix}` + i (10 digits). */
export async function loadOrders(conn: Connection, tenantId: string, prefix: string, from: number, to: number, now: Date): Promise<void> {
  const start = sqlTime(new Date(now.getTime() - SPAN_MS));
  const open = sqlTime(new Date(now.getTime() - 30 * 60_000));
  for (let a = from; a < to; a += CHUNK) {
    const b = Math.min(a + CHUNK, to) - 1;
    const range = [`${prefix}${String(a).padStart(10, '0')}`, `${prefix}${String(b).padStart(10, '0')}`];
    // Each order's facts from its number alone; its refunds are made from the same facts (a statement that writes
    // refund may not read pay_order: the refund triggers lock the order row).
    const facts = `(SELECT seq, created, 100 + (seq * 7477) MOD 99900 AS amount, r,
                      CASE WHEN created > ? THEN IF(seq MOD 2 = 0, 'WAIT_PAY', 'PAYING')
                           WHEN r < 650 THEN 'SUCCESS' WHEN r < 850 THEN 'CLOSED' WHEN r < 880 THEN 'FAILED'
                           WHEN r < 920 THEN 'PARTIAL_REFUNDED' ELSE 'REFUNDED' END AS st
                 FROM (SELECT seq, TIMESTAMP(?) + INTERVAL ((seq * 2654435761) MOD ${SPAN_MS}) * 1000 MICROSECOND AS created,
                              (seq * 40503) MOD 65521 MOD 1000 AS r
                         FROM seq_${a}_to_${b}) s) t`;
    await conn.query(
      `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way, status,
         notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, paid_at, close_reason, version,
         refunded_amount, created_at, updated_at)
       SELECT CONCAT(?, LPAD(seq, 10, '0')), ?, CONCAT('o-', seq), amount, 'CNY', 'Growth order', '', CONCAT('u-', seq MOD 20000),
              IF(st = 'WAIT_PAY' OR (st = 'CLOSED' AND r < 750), '', ELT(1 + seq MOD 4, ${LOAD_PAY_WAYS.map((w) => `'${w}'`).join(', ')})),
              st, 'payment-events', '', '{}', '127.0.0.1', '', 1800, created + INTERVAL 30 MINUTE,
              IF(st IN ('SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED'), created + INTERVAL 1 MINUTE, NULL),
              CASE st WHEN 'CLOSED' THEN 'EXPIRED' WHEN 'FAILED' THEN 'PAYMENT_FAILED' END, 3,
              CASE st WHEN 'REFUNDED' THEN amount WHEN 'PARTIAL_REFUNDED' THEN amount DIV 3 ELSE 0 END,
              created, created + INTERVAL 2 MINUTE
         FROM ${facts}`,
      [prefix, tenantId, open, start],
    );
    await conn.query(
      `INSERT INTO pay_attempt (attempt_no, pay_no, tenant_id, pay_way, channel, status, payer_id, client_ip, created_at, updated_at)
       SELECT CONCAT('A', pay_no), pay_no, tenant_id, pay_way, IF(pay_way LIKE 'ALIPAY%', 'alipay', 'wechat'),
              CASE status WHEN 'PAYING' THEN 'OPEN' WHEN 'CLOSED' THEN 'CLOSED' WHEN 'FAILED' THEN 'FAILED' ELSE 'SUCCESS' END,
              '', '127.0.0.1', created_at + INTERVAL 10 SECOND, updated_at
         FROM pay_order WHERE pay_no BETWEEN ? AND ? AND pay_way <> ''`,
      range,
    );
    // Successful refunds first (the refund triggers move them into the order's statistics cell), then failed ones.
    const payNo = `CONCAT(?, LPAD(seq, 10, '0'))`;
    await conn.query(
      `INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status, requested_by,
         created_at, updated_at, succeeded_at)
       SELECT CONCAT('R', ${payNo}), ?, CONCAT('rf-', seq), ${payNo}, CONCAT('A', ${payNo}), IF(st = 'REFUNDED', amount, amount DIV 3),
              'CNY', '', 'SUCCESS', 'bench', created + INTERVAL 1 DAY, created + INTERVAL 1 DAY, created + INTERVAL 1 DAY
         FROM ${facts} WHERE st IN ('REFUNDED', 'PARTIAL_REFUNDED')`,
      [prefix, tenantId, prefix, prefix, open, start],
    );
    await conn.query(
      `INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status, requested_by,
         failure_reason, created_at, updated_at)
       SELECT CONCAT('F', ${payNo}), ?, CONCAT('rf2-', seq), ${payNo}, CONCAT('A', ${payNo}), amount DIV 5, 'CNY', '', 'FAILED',
              'bench', 'declined', created + INTERVAL 2 DAY, created + INTERVAL 2 DAY
         FROM ${facts} WHERE st = 'PARTIAL_REFUNDED'`,
      [prefix, tenantId, prefix, prefix, open, start],
    );
    await conn.query(
      `INSERT INTO outbox_event (id, tenant_id, pay_no, type, order_version, topic, payload, status, attempts, next_attempt_at,
         created_at, delivered_at)
       SELECT UUID(), tenant_id, pay_no, 'PAYMENT_SUCCEEDED', 3, notify_topic, '{}', 'DELIVERED', 1, updated_at, updated_at, updated_at
         FROM pay_order WHERE pay_no BETWEEN ? AND ? AND RIGHT(pay_no, 1) IN ('0', '5')`,
      range,
    );
  }
}
