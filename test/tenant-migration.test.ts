import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection, type Connection } from 'mariadb';
import { MIGRATIONS_DIR } from '../src/infra/migrate';
import { mysqlConnection } from '../src/infra/mysql-url';

/*
 * The tenants migration on a database already in use: the tenants that have orders or channel accounts keep
 * working (they become registered, the mock channel off), each id exactly as it was written.
 */

const TENANTS_MIGRATION = '20261201120000_tenants';
const sql = (name: string) => readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');

describe('the tenants migration', () => {
  const database = `paysvc_tenants_${randomBytes(4).toString('hex')}`;
  let admin: Connection;
  let conn: Connection;

  beforeAll(async () => {
    const server = mysqlConnection(process.env.DATABASE_URL!);
    admin = await createConnection({ ...server, database: undefined });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    conn = await createConnection({ ...server, database, multipleStatements: true });
  });
  afterAll(async () => {
    await conn?.end();
    await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin?.end();
  });

  it('When a database in use is migrated, then every tenant with an order or a channel account is registered, mock off, ids byte for byte', async () => {
    const earlier = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name < TENANTS_MIGRATION)
      .map((e) => e.name)
      .sort();
    for (const name of earlier) await conn.query(sql(name));

    const order = (payNo: string, tenantId: string) =>
      conn.query(
        `INSERT INTO pay_order (pay_no, tenant_id, out_order_no, amount, currency, subject, description, user_id, pay_way,
                                status, notify_topic, attach, extra, client_ip, return_url, expire_seconds, expire_at)
         VALUES (?, ?, ?, 100, 'CNY', 's', '', 'u', '', 'WAIT_PAY', 't', '', '{}', '', '', 1800, NOW(3))`,
        [payNo, tenantId, payNo],
      );
    await order('P1', 'shop');
    await order('P2', 'shop');
    await order('P3', 'SHOP'); // another tenant under the byte-for-byte rule
    await conn.query(
      `INSERT INTO channel_account (tenant_id, channel, app_id, merchant_id, settings, secrets, key_id)
       VALUES ('accounts-only', 'alipay', 'a', 'm', '{}', 'x', 'k')`,
    );

    await conn.query(sql(TENANTS_MIGRATION));

    const rows: Array<{ id: string; name: string; mock_enabled: number }> = await conn.query(
      'SELECT id, name, mock_enabled FROM tenant ORDER BY id COLLATE utf8mb4_bin',
    );
    expect(rows.map((r) => [r.id, r.name, Number(r.mock_enabled)])).toEqual([
      ['SHOP', 'SHOP', 0],
      ['accounts-only', 'accounts-only', 0],
      ['shop', 'shop', 0],
    ]);
  });
});
