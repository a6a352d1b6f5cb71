/**
 * Run with TZ set to a zone other than UTC (hot-path-sql.test.ts): opens the service's database client and prints,
 * as JSON, the zone the process ended up in and how a Date travels through the driver both ways.
 */
import { closeDb, createDb } from '../../src/infra/db';
import { sqlOf } from '../../src/repo/sql';

async function main(): Promise<void> {
  const db = createDb(process.env.DATABASE_URL!, 1);
  try {
    const at = new Date('2026-03-04T02:07:31.500Z');
    const [row] = await sqlOf(db).$queryRaw<{ sent: string; read: Date }[]>`
      SELECT DATE_FORMAT(${at}, '%Y-%m-%d %H:%i:%s.%f') AS sent, CAST('2026-03-04 02:07:31.500' AS DATETIME(3)) AS \`read\``;
    process.stdout.write(JSON.stringify({ offsetMinutes: new Date(0).getTimezoneOffset(), sent: row.sent, read: row.read.toISOString() }));
  } finally {
    await closeDb(db);
  }
}

void main();
