import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createConnection } from 'mariadb';
import { migrate } from '../../src/infra/migrate';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Starts the project's own MariaDB and Redis (scripts/services.sh), recreates the test database and applies
 * the migrations to it, exactly as `npm run db:migrate` does. Workers inherit the environment set here.
 */
export default async function globalSetup(): Promise<void> {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/services.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const base = new URL(env.DATABASE_URL);
  const testDb = process.env.PAYSVC_TEST_DB ?? 'paysvc_test';
  const admin = await createConnection({
    host: base.hostname,
    port: Number(base.port),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${testDb}\``);
    await admin.query(`CREATE DATABASE \`${testDb}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  base.pathname = `/${testDb}`;
  process.env.DATABASE_URL = base.toString();
  process.env.REDIS_URL = env.REDIS_URL;
  await migrate(process.env.DATABASE_URL);
}
