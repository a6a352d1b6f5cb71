import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis';

/** Deletes or extends the key only while it still holds the holder's token, so nobody ends another's marker. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Marker {
  /** Gives the holder another `ttlMs` (from now); false when the marker expired or Redis is down. */
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Short-lived markers in Redis under the service's key prefix: "this instance is doing X right now", taken with
 * NX and a TTL so a crashed holder's marker lapses. They save duplicate work across instances (a second caller
 * waits instead of calling a channel again); correctness never rests on them, so while Redis is down `take`
 * grants a marker that holds nothing and `isHeld` answers false.
 */
export class Markers {
  constructor(
    private readonly redis: RedisClient,
    /** QUEUE_PREFIX: hash-tagged, so every marker lands in one Redis Cluster slot with the queues. */
    private readonly prefix: string,
  ) {}

  /** The marker, or 'held' when another holder has it. */
  async take(name: string, ttlMs: number): Promise<Marker | 'held'> {
    const key = this.key(name);
    const token = randomUUID();
    const taken = await this.redis.set(key, token, 'PX', ttlMs, 'NX').catch(() => 'unavailable' as const);
    if (taken === null) return 'held';
    if (taken === 'unavailable') return { extend: async () => false, release: async () => undefined };
    return {
      extend: async (ms) => (await this.redis.eval(EXTEND, 1, key, token, String(ms)).catch(() => 0)) === 1,
      release: async () => {
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }

  async isHeld(name: string): Promise<boolean> {
    return (await this.redis.exists(this.key(name)).catch(() => 0)) === 1;
  }

  private key(name: string): string {
    return `${this.prefix}:${name}`;
  }
}
