import { closeRedis, type RedisClient } from './redis';
import { throttled } from './throttled';
import type { Logger } from './logger';
import type { OrderChange } from '../repo/tx';

type Listener = () => void;
interface Entry {
  listeners: Set<Listener>;
  ready: Promise<void>;
}

/**
 * Order changes across instances over Redis pub/sub: every instance publishes the changes it commits, and an
 * instance serving WatchOrder subscribes to the orders being watched (one channel per order, one subscriber
 * connection per instance, reference-counted). Pub/sub may drop a message (a reconnect), so it is only a
 * wake-up: watchers re-read the order from MySQL, and also re-read on a slow timer.
 */
export class OrderFeed {
  private readonly channels = new Map<string, Entry>();
  private readonly closing = new AbortController();
  /** Changes committed in this turn of the event loop, published when it ends. */
  private pending: OrderChange[] = [];
  /** While Redis is down every commit fails to publish at once (no offline queue): one line per 10 s, not per commit. */
  private readonly publishFailed = throttled((err: unknown) => this.log.warn({ err }, 'could not publish order changes'));

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    sub.on('message', (channel: string) => {
      for (const fn of this.channels.get(channel)?.listeners ?? []) fn();
    });
  }

  /** Aborted when the instance shuts down, so open watches end at once instead of holding the drain. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  private channel(payNo: string): string {
    return `${this.prefix}:order:${payNo}`;
  }

  /**
   * Fire and forget: a lost announcement costs a watcher one poll interval, nothing more. The changes of every
   * commit in one turn of the event loop go out together, in one pipeline when the turn ends (under load dozens of
   * transactions commit per turn, and each paid a Redis round trip of its own).
   */
  publish(changes: OrderChange[]): void {
    if (changes.length === 0) return;
    if (this.pending.length === 0) setImmediate(() => this.flush());
    for (const c of changes) this.pending.push(c);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const pipeline = this.pub.pipeline();
      for (const c of batch) pipeline.publish(this.channel(c.payNo), `${c.status}:${c.version}`);
      pipeline.exec().catch((err: unknown) => this.publishFailed(err));
    } catch (err) {
      this.publishFailed(err); // outside any call or transaction now: a throw here would end the process
    }
  }

  /** Calls `fn` whenever the order may have changed, once subscribed; returns the unsubscribe. */
  async subscribe(payNo: string, fn: Listener): Promise<() => Promise<void>> {
    const channel = this.channel(payNo);
    let entry = this.channels.get(channel);
    if (!entry) {
      const created: Entry = { listeners: new Set(), ready: this.sub.subscribe(channel).then(() => undefined) };
      entry = created;
      this.channels.set(channel, created);
      // A failed SUBSCRIBE must not leave an entry that makes later watchers skip subscribing.
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
    }
    const joined = entry;
    joined.listeners.add(fn);
    try {
      await joined.ready; // a second watcher of the order waits for the first one's SUBSCRIBE too
    } catch (err) {
      joined.listeners.delete(fn);
      throw err;
    }
    return async () => {
      joined.listeners.delete(fn);
      if (joined.listeners.size === 0 && this.channels.get(channel) === joined) {
        this.channels.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  /** Ends every watch at once (before the first await), then closes the subscriber connection. */
  async close(): Promise<void> {
    this.closing.abort();
    await closeRedis(this.sub);
  }
}
