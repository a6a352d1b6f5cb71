import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createConnection } from 'mariadb';
import { migrate } from '../src/infra/migrate';
import { mysqlConnection } from '../src/infra/mysql-url';

const ROOT = path.resolve(__dirname, '..');

/**
 * `scripts/services.sh start` (idempotent: installs when missing and root, starts what is down) and the
 * connection URLs it prints. Shared by npm run dev, the tests' global setup and the bench.
 */
export function startLocalServices(): { databaseUrl: string; redisUrl: string } {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/services.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );
  if (!env.DATABASE_URL || !env.REDIS_URL) {
    throw new Error(`scripts/services.sh start printed no DATABASE_URL/REDIS_URL lines:\n${out}`);
  }
  return { databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL };
}

/** Database `name` on the server of `serverUrl`, created when missing (never dropped); its URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`database name ${JSON.stringify(name)}: letters, digits and _ only`);
  const admin = await createConnection({ ...mysqlConnection(serverUrl), database: undefined });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops and recreates database `name` on the server of `serverUrl`, migrates it, and returns its URL. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  const url = new URL(serverUrl);
  const admin = await createConnection({ ...mysqlConnection(serverUrl), database: undefined });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return url.toString();
}
