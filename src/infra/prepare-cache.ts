import { createRequire } from 'node:module';

/**
 * Each pool connection's prepared-statement cache, as the mariadb driver's own (lib/lru-prepare-cache.js in 3.4.5)
 * but with its key made once per statement text instead of on every call.
 *
 * The driver looks a prepared statement up by `${database}|${sql}`, a string it builds afresh for every execute().
 * V8 then flattens and hashes the whole new string to look it up: ~5 µs for a 2.9 KB text (measured in-process, 100,000
 * lookups), the size of Query's one statement (a UNION ALL of four branches, each naming every column), and 4 % of
 * Query's CPU in a profile of the bench. Here the key of each text is kept in a map keyed by the text itself; our
 * statement texts are module constants, so the text's hash is computed once and cached in the string, and the key
 * handed to the LRU is the same string every time, its hash cached too: ~0.2–0.3 µs a lookup.
 *
 * Everything else is the driver's: the same LRU (its own lru-cache), the same bound (prepareCacheLength), the same
 * entries (its PrepareCacheWrapper: a hit hands out a use, an evicted entry closes its statement once unused),
 * `reset` when the connection is reset, and the current database in the key, so that a text prepared under one
 * database is never run under another.
 */
export class KeyedPrepareCache {
  private readonly cache: Lru;
  /** Each text's key under `keysDatabase`: at most a few times the cache's bound (then started afresh). */
  private readonly keys = new Map<string, string>();
  private keysDatabase: string | null | undefined;
  private readonly maxKeys: number;

  constructor(
    private readonly info: { database?: string | null },
    max: number,
  ) {
    this.cache = new LRUCache({ max, dispose: (value) => value.unCache() });
    this.maxKeys = max * KEYS_PER_ENTRY;
  }

  get(sql: string): unknown {
    const cached = this.cache.get(this.key(sql));
    return cached ? cached.incrementUse() : null;
  }

  set(sql: string, cached: CachedPrepare): void {
    this.cache.set(this.key(sql), cached);
  }

  reset(): void {
    this.cache.clear();
  }

  toString(): string {
    return `info{cache:${[...this.cache.keys()].map((key) => `[${key}]`).join(',')}}`;
  }

  private key(sql: string): string {
    const database = this.info.database;
    if (database !== this.keysDatabase) {
      this.keys.clear();
      this.keysDatabase = database;
    }
    let key = this.keys.get(sql);
    if (key === undefined) {
      if (this.keys.size >= this.maxKeys) this.keys.clear(); // texts built per call would otherwise grow it
      key = `${database}|${sql}`; // the driver's key, so toString reads as the driver's
      this.keys.set(sql, key);
    }
    return key;
  }
}

/** The driver's cache entry (lib/cmd/class/prepare-cache-wrapper.js). */
interface CachedPrepare {
  incrementUse(): unknown;
  unCache(): void;
}

/** What this uses of lru-cache's LRUCache. */
interface Lru {
  get(key: string): CachedPrepare | undefined;
  set(key: string, value: CachedPrepare): unknown;
  clear(): void;
  keys(): Iterable<string>;
}

/** The driver's own lru-cache (its dependency, resolved from it: mariadb 3.4.5 has 10.x, not the 11.x hoisted here). */
const { LRUCache } = createRequire(require.resolve('mariadb'))('lru-cache') as {
  LRUCache: new (opts: { max: number; dispose: (value: CachedPrepare) => void }) => Lru;
};

/** Keys remembered per cache entry the bound allows. */
const KEYS_PER_ENTRY = 4;

/** A pool connection as the driver makes it (lib/connection.js), as far as its prepared-statement cache goes. */
interface DriverConnection {
  info?: { database?: string | null } | null;
  opts?: { prepareCacheLength?: number };
  prepareCache?: { toString(): string } | null;
}

/**
 * Gives a new pool connection a KeyedPrepareCache in place of the driver's, when the driver is the version this was
 * written against (3.4.5; test/component/prepare-cache.test.ts tells whether another still has the same cache) and the
 * connection's cache is on and still empty. Otherwise the connection keeps the driver's own.
 */
export function keyPrepareCache(conn: DriverConnection): void {
  const max = conn.opts?.prepareCacheLength ?? 0;
  if (!DRIVER_MATCHES || !conn.info || !conn.prepareCache || max <= 0) return;
  if (conn.prepareCache instanceof KeyedPrepareCache || conn.prepareCache.toString() !== 'info{cache:}') return;
  conn.prepareCache = new KeyedPrepareCache(conn.info, max);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const DRIVER_MATCHES = (require('mariadb/package.json') as { version: string }).version === '3.4.5';
