import type { Connection } from 'mariadb';
import { sqlTime } from './growth-load';

export interface TriggerCost {
  label: string;
  n: number;
  withUs: number;
  withoutUs: number;
}

const TRIGGERS = [
  'pay_order_stats_insert',
  'pay_order_stats_update',
  'pay_order_stats_delete',
  'refund_stats_insert',
  'refund_stats_update',
  'refund_stats_delete',
];

/** The service's write statements in their shapes (pay-orders.ts insertOrder and the CAS, refunds.ts), `n` each. */
function steps(conn: Connection, tenantId: string, now: Date, tag: string) {
  const at = sqlTime(now);
  const payNo = (i: number) => `W${tag}${String(i).padStart(8, '0')}`;
  return [
    {
      label: 'CreateOrder INSERT pay_order',
      run: (i: number) =>
        conn.query(
          `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
             status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at, created_at, updated_at)
           VALUES (?, ?, ?, 1999, 'CNY', 'Bench', '', 'u-1', '', 'WAIT_PAY', 't', '', '{}', '', '', 1800, ?, ?, ?)`,
          [payNo(i), tenantId, `w-${tag}-${i}`, at, at, at],
        ),
    },
    {
      label: 'transition WAIT_PAY → PAYING (CAS UPDATE)',
      run: (i: number) =>
        conn.query(
          `UPDATE pay_order SET status = 'PAYING', pay_way = 'WECHAT_NATIVE', version = version + 1, updated_at = ?
            WHERE pay_no = ? AND status = 'WAIT_PAY'`,
          [at, payNo(i)],
        ),
    },
    {
      label: 'transition PAYING → SUCCESS (CAS UPDATE)',
      run: (i: number) =>
        conn.query(
          `UPDATE pay_order SET status = 'SUCCESS', paid_at = ?, version = version + 1, updated_at = ? WHERE pay_no = ? AND status = 'PAYING'`,
          [at, at, payNo(i)],
        ),
    },
    {
      label: 'reserveRefund UPDATE (no statistics fact changes)',
      run: (i: number) =>
        conn.query(
          `UPDATE pay_order SET refund_pending_amount = refund_pending_amount + 100, version = version + 1 WHERE pay_no = ? AND status = 'SUCCESS'`,
          [payNo(i)],
        ),
    },
    {
      label: 'refund INSERT (PENDING)',
      run: (i: number) =>
        conn.query(
          `INSERT INTO refund (refund_no, tenant_id, out_refund_no, pay_no, attempt_no, amount, currency, reason, status, requested_by)
           VALUES (?, ?, ?, ?, '', 100, 'CNY', '', 'PENDING', 'bench')`,
          [`RW${tag}${i}`, tenantId, `rw-${tag}-${i}`, payNo(i)],
        ),
    },
    {
      label: 'refund PENDING → SUCCESS (CAS UPDATE)',
      run: (i: number) =>
        conn.query(`UPDATE refund SET status = 'SUCCESS', succeeded_at = ? WHERE refund_no = ? AND status = 'PENDING'`, [
          at,
          `RW${tag}${i}`,
        ]),
    },
  ];
}

async function timeSteps(conn: Connection, tenantId: string, now: Date, tag: string, n: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const step of steps(conn, tenantId, now, tag)) {
    // Inside one transaction: the redo log's flush at each commit would otherwise be most of what is timed.
    await conn.beginTransaction();
    const t = performance.now();
    for (let i = 0; i < n; i++) await step.run(i);
    out.set(step.label, ((performance.now() - t) * 1000) / n);
    await conn.commit();
  }
  return out;
}

/**
 * Each write statement `n` times (in a transaction per kind) with the statistics triggers, then the same on fresh rows after dropping them
 * (the scratch database is recreated by the next run). Rows created "now": one hot rollup cell, as in a burst.
 */
export async function triggerCost(conn: Connection, tenantId: string, now: Date, n: number): Promise<TriggerCost[]> {
  await timeSteps(conn, tenantId, now, 'x', Math.min(n, 50)); // warm-up
  const withTriggers = await timeSteps(conn, tenantId, now, 'a', n);
  for (const t of TRIGGERS) await conn.query(`DROP TRIGGER ${t}`);
  const without = await timeSteps(conn, tenantId, now, 'b', n);
  return [...withTriggers].map(([label, withUs]) => ({ label, n, withUs, withoutUs: without.get(label) ?? NaN }));
}
