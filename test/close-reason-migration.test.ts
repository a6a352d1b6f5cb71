import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import { MIGRATIONS_DIR } from '../src/infra/migrate';
import { mysqlConnection } from '../src/infra/mysql-url';

/*
 * The close_reason migration on a database already in use: orders closed or failed before it get their reason
 * from the audit trail (cause RPC: CANCELLED, TIMEOUT: EXPIRED; FAILED: PAYMENT_FAILED), kept when a payment
 * came after the close; orders never closed get none.
 */

const MIGRATION = '20261201160000_close_reason';
const sql = (name: string) => readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');

describe('the close_reason migration', () => {
  const database = `paysvc_close_${randomBytes(4).toString('hex')}`;
  let admin: Connection;
  let conn: Connection;

  beforeAll(async () => {
    const server = mysqlConnection(process.env.DATABASE_URL!);
    admin = await createConnection({ ...server, database: undefined });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    conn = await createConnection({ ...server, database, multipleStatements: true });
  });
  afterAll(async () => {
    await conn?.end();
    await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin?.end();
  });

  it('When a database in use is migrated, then closed and failed orders get their reason from their audit trail', async () => {
    const earlier = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name < MIGRATION)
      .map((e) => e.name)
      .sort();
    for (const name of earlier) await conn.query(sql(name));
    await conn.query(`INSERT INTO tenant (id, name, mock_enabled) VALUES ('shop', 'shop', 1)`);
    const order = async (payNo: string, status: string, trail: Array<[string, string, string]>) => {
      await conn.query(
        `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
                                status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at)
         VALUES (?, 'shop', ?, 100, 'CNY', 's', '', 'u', 'MOCK', ?, 't', '', '{}', '', '', 1800, NOW(3))`,
        [payNo, payNo, status],
      );
      for (const [from, to, cause] of trail) {
        await conn.query(
          `INSERT INTO order_transition (pay_no, from_status, to_status, cause, actor, detail) VALUES (?, ?, ?, ?, 'a', '')`,
          [payNo, from, to, cause],
        );
      }
    };
    await order('P1', 'CLOSED', [['WAIT_PAY', 'CLOSED', 'RPC']]);
    await order('P2', 'CLOSED', [
      ['WAIT_PAY', 'PAYING', 'RPC'],
      ['PAYING', 'CLOSED', 'TIMEOUT'],
    ]);
    await order('P3', 'FAILED', [
      ['WAIT_PAY', 'PAYING', 'RPC'],
      ['PAYING', 'FAILED', 'NOTIFY'],
    ]);
    await order('P4', 'PAID_AFTER_CLOSE', [
      ['WAIT_PAY', 'CLOSED', 'TIMEOUT'],
      ['CLOSED', 'PAID_AFTER_CLOSE', 'NOTIFY'],
    ]);
    await order('P5', 'SUCCESS', [
      ['WAIT_PAY', 'PAYING', 'RPC'],
      ['PAYING', 'SUCCESS', 'NOTIFY'],
    ]);
    await order('P6', 'WAIT_PAY', []);

    await conn.query(sql(MIGRATION));

    const rows: Array<{ pay_no: string; close_reason: string | null }> = await conn.query(
      'SELECT pay_no, close_reason FROM pay_order ORDER BY pay_no',
    );
    expect(rows.map((r) => [r.pay_no, r.close_reason])).toEqual([
      ['P1', 'CANCELLED'],
      ['P2', 'EXPIRED'],
      ['P3', 'PAYMENT_FAILED'],
      ['P4', 'EXPIRED'],
      ['P5', null],
      ['P6', null],
    ]);
  });
});
