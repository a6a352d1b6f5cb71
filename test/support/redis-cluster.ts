import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { parseClusterNodes, type RedisTarget } from '../../src/infra/redis';

const run = promisify(execFile);
const SCRIPT = join(__dirname, '../../scripts/redis-cluster.sh');

/** One node as `CLUSTER NODES` lists it. */
export interface ClusterNodeState {
  id: string;
  port: number;
  role: 'master' | 'slave';
  failed: boolean;
  /** The slot ranges it serves (masters), e.g. [[0, 5460]]. */
  slots: [number, number][];
}

/**
 * A Redis Cluster of a test's own (3 masters, 3 replicas) started by scripts/redis-cluster.sh on six free ports
 * (and their cluster bus ports) with a temporary data folder, so it can be broken without touching anyone else's
 * Redis. A short node timeout makes a replica take over about 2-3 s after its master dies.
 */
export class TestRedisCluster {
  private constructor(
    readonly dir: string,
    readonly ports: number[],
    /** REDIS_CLUSTER_NODES for paysvc. */
    readonly nodes: string,
  ) {}

  static async start(nodeTimeoutMs = 1000): Promise<TestRedisCluster> {
    const base = await freePortRun();
    const dir = await mkdtemp(join(tmpdir(), 'paysvc-rcluster-'));
    const env = {
      ...process.env,
      REDIS_CLUSTER_DIR: dir,
      REDIS_CLUSTER_PORT: String(base),
      REDIS_CLUSTER_NODE_TIMEOUT_MS: String(nodeTimeoutMs),
    };
    const { stdout } = await run(SCRIPT, ['start'], { env });
    const nodes = /^REDIS_CLUSTER_NODES=(.+)$/m.exec(stdout)?.[1] ?? '';
    return new TestRedisCluster(
      dir,
      [0, 1, 2, 3, 4, 5].map((i) => base + i),
      nodes,
    );
  }

  get target(): RedisTarget {
    return { kind: 'cluster', nodes: parseClusterNodes(this.nodes) };
  }

  /** Stops every node (the script's stop) and removes the data folder. */
  async stop(): Promise<void> {
    await run(SCRIPT, ['stop'], { env: { ...process.env, REDIS_CLUSTER_DIR: this.dir, REDIS_CLUSTER_PORT: String(this.ports[0]) } });
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A plain connection to one node, for CLUSTER commands (the caller disconnects it). */
  node(port: number): Redis {
    return new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  }

  /** The cluster as a node that answers sees it (undefined if none of the given ports answers). */
  async view(askPorts = this.ports): Promise<{ state: string; nodes: ClusterNodeState[] } | undefined> {
    for (const port of askPorts) {
      const conn = this.node(port);
      try {
        await conn.connect();
        const info = String(await conn.call('CLUSTER', 'INFO'));
        const listing = String(await conn.call('CLUSTER', 'NODES'));
        return { state: /cluster_state:(\w+)/.exec(info)?.[1] ?? '?', nodes: parseNodes(listing) };
      } catch {
        // this node is down; ask the next
      } finally {
        conn.disconnect();
      }
    }
    return undefined;
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf(key: string, askPorts = this.ports): Promise<number | undefined> {
    const conn = this.node(askPorts[0]);
    let slot: number;
    try {
      await conn.connect();
      slot = Number(await conn.call('CLUSTER', 'KEYSLOT', key));
    } finally {
      conn.disconnect();
    }
    const view = await this.view(askPorts);
    return view?.nodes.find((n) => n.role === 'master' && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b))?.port;
  }

  /** kill -9 of one node (a crash: no shutdown, no save). */
  async kill(port: number): Promise<void> {
    const pid = Number(await readFile(join(this.dir, String(port), 'redis.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
  }
}

function parseNodes(listing: string): ClusterNodeState[] {
  return listing
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, , , , , , ...slots] = line.trim().split(' ');
      const flagList = flags.split(',');
      return {
        id,
        port: Number(/:(\d+)@/.exec(addr)?.[1]),
        role: flagList.includes('master') ? 'master' : 'slave',
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots: slots
          .filter((s) => /^\d/.test(s))
          .map((s) => s.split('-').map(Number) as [number, number])
          .map(([a, b]) => [a, b ?? a]),
      };
    });
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A first port with it and the next five free, and their cluster bus ports (10000 above), below the ephemeral range. */
async function freePortRun(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 21000 + Math.floor(Math.random() * 8000);
    const ports = [0, 1, 2, 3, 4, 5].flatMap((i) => [base + i, base + i + 10000]);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no six free ports for a Redis Cluster');
}
