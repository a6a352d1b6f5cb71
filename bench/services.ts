import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createConnection } from 'mariadb';
import { recreateDatabase, startLocalServices } from '../scripts/local-services';
import { mysqlConnection } from '../src/infra/mysql-url';
import { registerTenant } from '../src/app/tenants';
import { closeDb, createDb } from '../src/infra/db';
import { TENANT } from './grpc-frames';

export interface BenchServices {
  /** The scratch database, freshly migrated. */
  databaseUrl: string;
  redisUrl: string;
  /** mariadbd's pid, for its CPU per operation; undefined when it cannot be found. */
  mariadbPid: number | undefined;
  /** MariaDB's server-wide count of statements clients have run (status Questions), for statements per op. */
  statementsRun: () => Promise<number>;
  close(): Promise<void>;
}

/**
 * scripts/services.sh start (idempotent), then drops, recreates and migrates the scratch database and registers
 * the bench's tenant (grpc-frames.ts's TENANT; its mock account is saved where the service starts: the scenarios
 * prepay with it).
 */
export async function prepareServices(database: string): Promise<BenchServices> {
  const local = startLocalServices();
  // BENCH_DATABASE_SERVER: another server for the scratch database (a Galera node from scripts/galera.sh; give the
  // service DATABASE_GALERA=true in the environment too). Redis stays the local one.
  const serverUrl = process.env.BENCH_DATABASE_SERVER ?? local.databaseUrl;
  const { redisUrl } = local;
  const databaseUrl = await recreateDatabase(serverUrl, database);
  const db = createDb(databaseUrl, 1);
  try {
    await registerTenant(db, { id: TENANT, name: 'Bench' });
  } finally {
    await closeDb(db);
  }
  const admin = await createConnection({ ...mysqlConnection(databaseUrl), database: undefined });
  try {
    const [row] = await admin.query<{ pidFile: string | null }[]>('SELECT @@pid_file AS pidFile');
    return {
      databaseUrl,
      redisUrl,
      mariadbPid: readPid(String(row.pidFile)),
      statementsRun: async () => {
        const [q] = await admin.query<{ Variable_name: string; Value: string }[]>("SHOW GLOBAL STATUS LIKE 'Questions'");
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

/**
 * The pids of the Redis servers at these addresses that run on this machine, for their CPU per operation. A server
 * names its pid in INFO; a pid counts only if it is a redis-server process here (a remote server's pid would
 * name some unrelated local process, or none). Unreachable or remote servers are left out.
 */
export async function localRedisPids(targets: ReadonlyArray<string | { host: string; port: number }>): Promise<number[]> {
  const pids = await Promise.all(
    targets.map(async (target) => {
      const redis = typeof target === 'string' ? new Redis(target, REDIS_PROBE) : new Redis({ ...target, ...REDIS_PROBE });
      redis.on('error', () => {}); // a failed probe leaves that server out; its error is the answer
      try {
        const info = await redis.info('server');
        const pid = Number(/^process_id:(\d+)\r?$/m.exec(info)?.[1]);
        return Number.isInteger(pid) && pid > 0 && processName(pid) === 'redis-server' ? pid : undefined;
      } catch {
        return undefined;
      } finally {
        redis.disconnect();
      }
    }),
  );
  return [...new Set(pids.filter((pid): pid is number => pid !== undefined))];
}

/** One try, a bounded wait: a probe never holds the bench up. */
const REDIS_PROBE = { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 2000 } as const;

function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
