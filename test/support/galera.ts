import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mariadb';
import { migrate } from '../../src/infra/migrate';
import { mysqlConnection } from '../../src/infra/mysql-url';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '../../scripts/galera.sh');

/**
 * A private 3-node Galera cluster for one test file (scripts/galera.sh on its own ports and data directory,
 * never the shared MariaDB), with one migrated database; `urls[i]` is node i+1's.
 */
export class GaleraCluster {
  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly dir: string,
    readonly urls: string[],
  ) {}

  static async start(opts: { port: number; gcommPort: number; database: string }): Promise<GaleraCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-galera-'));
    const env = {
      ...process.env,
      PAYSVC_GALERA_DIR: dir,
      PAYSVC_GALERA_PORT: String(opts.port),
      PAYSVC_GALERA_GCOMM_PORT: String(opts.gcommPort),
    };
    const { stdout } = await run('bash', [SCRIPT, 'start'], { env, timeout: 150_000 }).catch(async (err: Error) => {
      await run('bash', [SCRIPT, 'stop'], { env }).catch(() => undefined);
      throw err;
    });
    const servers = stdout
      .split('\n')
      .filter((l) => l.startsWith('DATABASE_URL_'))
      .map((l) => l.slice(l.indexOf('=') + 1).trim());
    if (servers.length !== 3) throw new Error(`scripts/galera.sh start printed ${servers.length} URLs:\n${stdout}`);
    const urls = servers.map((s) => {
      const u = new URL(s);
      u.pathname = `/${opts.database}`;
      return u.toString();
    });
    const admin = await createConnection({ ...mysqlConnection(servers[0]), database: undefined });
    try {
      await admin.query(`CREATE DATABASE \`${opts.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await admin.end();
    }
    await migrate(urls[0]);
    return new GaleraCluster(env, dir, urls);
  }

  /** host and port of node n (1-based). */
  node(n: number): { host: string; port: number } {
    const { host, port } = mysqlConnection(this.urls[n - 1]);
    return { host, port };
  }

  /**
   * A connection to node n that reads causally (wsrep_sync_wait): a SELECT first waits until the node has applied
   * everything committed anywhere in the cluster before it, so a check sees every node's writes.
   */
  async connect(n: number): Promise<Connection> {
    const conn = await createConnection({ ...mysqlConnection(this.urls[n - 1]), bigIntAsNumber: false });
    await conn.query('SET SESSION wsrep_sync_wait = 1');
    return conn;
  }

  async kill(n: number): Promise<void> {
    await run('bash', [SCRIPT, 'kill', String(n)], { env: this.env });
  }

  async status(): Promise<string> {
    return (await run('bash', [SCRIPT, 'status'], { env: this.env })).stdout;
  }

  async stop(): Promise<void> {
    try {
      await run('bash', [SCRIPT, 'stop'], { env: this.env, timeout: 60_000 });
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
