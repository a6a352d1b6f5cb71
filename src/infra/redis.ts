import { Cluster, Redis } from 'ioredis';
import { coalesceWrites } from './coalesced-writes';

/** The longest pause between reconnect tries: a Redis that is back is seen within this (ioredis's default is 2 s). */
const MAX_RECONNECT_DELAY_MS = 1000;

/** A connection to one Redis server or to a Redis Cluster: both take the commands paysvc sends. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server (REDIS_URL) or a Redis Cluster's seed nodes (REDIS_CLUSTER_NODES). */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: ClusterNode[] };

export interface ClusterNode {
  host: string;
  port: number;
}

export interface RedisConnectionOptions {
  forBullmq?: boolean;
  failFast?: boolean;
}

/**
 * `host:port,host:port,…`: a few of the cluster's nodes (any role); the client learns the rest from them. An
 * IPv6 host goes in brackets (`[::1]:7000`). Throws on anything else.
 */
export function parseClusterNodes(spec: string): ClusterNode[] {
  return spec.split(',').map((entry) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry.trim());
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) throw new Error(`"${entry}" is not host:port`);
    return { host: m[1] ?? m[2], port };
  });
}

/**
 * One ioredis connection (a Cluster client when the target is a cluster). BullMQ's workers need
 * maxRetriesPerRequest null (they block and must survive a reconnect). Every connection a request uses (BullMQ's
 * producers, the markers and limits, the order feed's publisher) gets `failFast`: no offline queue, so a command
 * while Redis is down fails at once instead of holding the request through ioredis's reconnect tries (BullMQ's
 * "fail fast" pattern); Redis there only carries jobs and hints, which the callers treat as best effort.
 *
 * On a cluster a command for a slot whose master just died is retried (ioredis refreshes the slot map and
 * follows MOVED) up to `maxRedirections` times, `retryDelayOnFailover` apart: about 2 s, the time a replica takes
 * to be promoted with a short cluster-node-timeout; longer failovers fail the command, which callers treat as
 * Redis being down (the sweep redoes what was lost).
 */
export function createRedis(url: string, options?: RedisConnectionOptions): Redis;
export function createRedis(target: RedisTarget, options?: RedisConnectionOptions): RedisClient;
export function createRedis(target: string | RedisTarget, options: RedisConnectionOptions = {}): RedisClient {
  const t: RedisTarget = typeof target === 'string' ? { kind: 'single', url: target } : target;
  const maxRetriesPerRequest = options.failFast ? 1 : options.forBullmq ? null : 3;
  const retryStrategy = (tries: number) => Math.min(tries * 50, MAX_RECONNECT_DELAY_MS);
  if (t.kind === 'cluster') {
    const cluster = new Cluster(t.nodes, {
      enableReadyCheck: true,
      enableOfflineQueue: !options.failFast,
      clusterRetryStrategy: retryStrategy,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      maxRedirections: 10,
      redisOptions: { maxRetriesPerRequest },
    });
    if (options.failFast) cluster.on('+node', (node: Redis) => coalesceOnConnect(node));
    return cluster;
  }
  const client = new Redis(t.url, {
    lazyConnect: false,
    maxRetriesPerRequest,
    enableReadyCheck: true,
    retryStrategy,
    ...(options.failFast ? { enableOfflineQueue: false } : {}),
  });
  if (options.failFast) coalesceOnConnect(client);
  return client;
}

/**
 * The connections requests use (failFast) send each turn's commands in one socket write (coalesceWrites): concurrent
 * Prepays' markers and status-sync entries, say, then share a system call. Each new socket (ioredis makes one per
 * reconnect) is set up as it connects. Not the BullMQ workers' connections: they block on their commands.
 */
function coalesceOnConnect(client: Redis): void {
  // Called as the client is made (a Cluster makes each node lazily and announces it at once): none has connected yet.
  client.on('connect', () => coalesceWrites(client.stream));
}

/**
 * Closes a connection and waits (up to `timeoutMs`) until it has ended. ioredis's `disconnect()` only starts the
 * close: the status stays `ready` until the socket's close event, so a stop that returned at once would leave the
 * connection open behind it (a CI run saw exactly that). A connection between reconnect tries has no socket to
 * close and ends at once.
 */
export async function closeRedis(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'reconnecting') {
    client.disconnect();
    return;
  }
  let onEnd = () => {};
  const ended = new Promise<void>((resolve) => (onEnd = resolve));
  client.once('end', onEnd);
  const timer = setTimeout(onEnd, timeoutMs);
  client.disconnect();
  await ended;
  clearTimeout(timer);
  client.off('end', onEnd);
}
