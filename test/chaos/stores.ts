import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { running, sleep, startProc, stopProc, waitFor, type Proc } from './processes';

const run = promisify(execFile);
const ROOT_USER = process.getuid?.() === 0;

/**
 * The run's own MariaDB, started the way scripts/services.sh starts the shared one but on its own data
 * directory and port, as a child of the run: it can be restarted (and is stopped at the end) without touching
 * anyone else's server.
 */
export class PrivateMariaDb {
  private proc?: Proc;
  private readonly dir: string;
  private readonly socket: string;

  constructor(
    base: string,
    readonly port: number,
  ) {
    this.dir = path.join(base, 'mariadb');
    this.socket = path.join(this.dir, 'mysqld.sock');
  }

  get url(): string {
    return `mysql://paysvc:paysvc@127.0.0.1:${this.port}/paysvc`;
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const user = (await run('id', ['-un'])).stdout.trim();
    await run('mariadb-install-db', [
      ...(ROOT_USER ? ['--user=root'] : []),
      `--datadir=${path.join(this.dir, 'db')}`,
      '--auth-root-authentication-method=socket',
      `--auth-root-socket-user=${user}`,
      '--skip-test-db',
    ]);
    await this.start();
    await this.admin(`
      CREATE USER IF NOT EXISTS 'paysvc'@'127.0.0.1' IDENTIFIED BY 'paysvc';
      GRANT ALL PRIVILEGES ON *.* TO 'paysvc'@'127.0.0.1';
      CREATE DATABASE IF NOT EXISTS paysvc CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
      FLUSH PRIVILEGES;`);
  }

  async start(): Promise<void> {
    const bin = (await run('bash', ['-c', 'command -v mariadbd || echo /usr/sbin/mariadbd'])).stdout.trim();
    this.proc = startProc(
      'mariadb',
      bin,
      [
        '--no-defaults',
        ...(ROOT_USER ? ['--user=root'] : []),
        `--datadir=${path.join(this.dir, 'db')}`,
        `--socket=${this.socket}`,
        `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
        '--bind-address=127.0.0.1',
        `--port=${this.port}`,
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_bin',
        '--default-time-zone=+00:00',
        '--innodb-buffer-pool-size=128M',
        '--max-connections=500',
        '--skip-name-resolve',
      ],
      { log: path.join(this.dir, 'error.log') },
    );
    await waitFor('MariaDB up', () => this.ping(), 60_000);
  }

  /** A clean shutdown (SIGTERM), `downMs` with no server, then a start on the same data. */
  async restart(downMs: number): Promise<void> {
    await stopProc(this.proc, 'SIGTERM', 30_000);
    await sleep(downMs);
    await this.start();
  }

  stop(): Promise<void> {
    return stopProc(this.proc, 'SIGTERM', 30_000);
  }

  private async ping(): Promise<boolean> {
    if (!running(this.proc)) throw new Error(`mariadbd exited: see ${path.join(this.dir, 'error.log')}`);
    try {
      await run('mariadb-admin', ['--protocol=socket', `--socket=${this.socket}`, 'ping']);
      return true;
    } catch {
      return false;
    }
  }

  private async admin(sql: string): Promise<void> {
    await run('mariadb', ['--protocol=socket', `--socket=${this.socket}`, '-e', sql]);
  }
}

/**
 * The run's own Redis, configured like scripts/services.sh's (AOF on, noeviction) so that a clean restart loses
 * nothing, on its own port and directory.
 */
export class PrivateRedis {
  private proc?: Proc;
  private readonly dir: string;

  constructor(
    base: string,
    readonly port: number,
  ) {
    this.dir = path.join(base, 'redis');
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.proc = startProc(
      'redis',
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--dir',
        this.dir,
        '--save',
        '',
        '--pidfile',
        path.join(this.dir, 'redis.pid'),
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { log: path.join(this.dir, 'redis.log') },
    );
    await waitFor('Redis up', async () => (await this.command(['ping'])) === 'PONG', 30_000);
  }

  /** SHUTDOWN (the AOF is complete), `downMs` with no server, then a start on the same data. */
  async restart(downMs: number): Promise<void> {
    await this.command(['shutdown']).catch(() => undefined);
    await stopProc(this.proc, 'SIGTERM', 10_000);
    await sleep(downMs);
    await this.start();
  }

  stop(): Promise<void> {
    return stopProc(this.proc, 'SIGTERM', 10_000);
  }

  /** Deletes every key under `prefix` (paysvc's internal queues: jobs, schedulers, locks), as a failover without them would. */
  async flushPrefix(prefix: string): Promise<number> {
    const redis = new Redis(this.url, { maxRetriesPerRequest: 1 });
    try {
      let deleted = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.del(...keys);
      } while (cursor !== '0');
      return deleted;
    } finally {
      redis.disconnect();
    }
  }

  /** used_memory, MB. */
  async memoryMb(): Promise<number> {
    const info = await this.command(['info', 'memory']);
    return Number(/used_memory:(\d+)/.exec(info)?.[1]) / 1024 / 1024;
  }

  private async command(args: string[]): Promise<string> {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args])).stdout.trim();
  }
}
