import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createConnection } from 'mariadb';
import { migrate } from '../src/infra/migrate';
import { ROOT } from './children';

export interface BenchServices {
  /** The scratch database, freshly migrated. */
  databaseUrl: string;
  redisUrl: string;
  /** mariadbd's pid, for its CPU per operation; undefined when it cannot be found. */
  mariadbPid: number | undefined;
  /** MariaDB's server-wide count of statements clients have run (status Questions), for statements per op. */
  statementsRun(): Promise<number>;
  close(): Promise<void>;
}

/** scripts/services.sh start (idempotent), then drops, recreates and migrates the scratch database. */
export async function prepareServices(database: string): Promise<BenchServices> {
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
  if (!env.DATABASE_URL || !env.REDIS_URL) throw new Error(`scripts/services.sh start printed no DATABASE_URL/REDIS_URL:\n${out}`);
  const url = new URL(env.DATABASE_URL);
  const admin = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const [row] = await admin.query('SELECT @@pid_file AS pidFile');
    url.pathname = `/${database}`;
    await migrate(url.toString());
    return {
      databaseUrl: url.toString(),
      redisUrl: env.REDIS_URL,
      mariadbPid: readPid(String(row.pidFile)),
      statementsRun: async () => {
        const [q] = await admin.query("SHOW GLOBAL STATUS LIKE 'Questions'");
        return Number(q.Value) - 1; // not counting this SHOW itself
      },
      close: () => admin.end(),
    };
  } catch (err) {
    await admin.end();
    throw err;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
