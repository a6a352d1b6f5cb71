import type { Redis } from 'ioredis';
import type { Logger } from './logger';
import type { OrderChange } from '../repo/tx';

type Listener = () => void;

/**
 * Order changes across instances over Redis pub/sub: every instance publishes the changes it commits, and an
 * instance serving WatchOrder subscribes to the orders being watched (one channel per order, one subscriber
 * connection per instance, reference-counted). Pub/sub may drop a message (a reconnect), so it is only a
 * wake-up: watchers re-read the order from MySQL, and also re-read on a slow timer.
 */
export class OrderFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    sub.on('message', (channel: string) => {
      for (const fn of this.listeners.get(channel) ?? []) fn();
    });
  }

  /** Aborted when the instance shuts down, so open watches end at once instead of holding the drain. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  private channel(payNo: string): string {
    return `${this.prefix}:order:${payNo}`;
  }

  /** Fire and forget: a lost announcement costs a watcher one poll interval, nothing more. */
  publish(changes: OrderChange[]): void {
    const pipeline = this.pub.pipeline();
    for (const c of changes) pipeline.publish(this.channel(c.payNo), `${c.status}:${c.version}`);
    pipeline.exec().catch((err: unknown) => this.log.warn({ err }, 'could not publish order changes'));
  }

  /** Calls `fn` whenever the order may have changed; returns the unsubscribe. */
  async subscribe(payNo: string, fn: Listener): Promise<() => Promise<void>> {
    const channel = this.channel(payNo);
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.sub.subscribe(channel);
    }
    set.add(fn);
    return async () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        await this.sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  close(): void {
    this.closing.abort();
    this.sub.disconnect();
  }
}
