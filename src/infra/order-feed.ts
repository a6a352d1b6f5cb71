import { closeRedis, type RedisClient } from './redis';
import { throttled } from './throttled';
import type { Logger } from './logger';
import type { OrderChange } from '../repo/tx';

type Listener = () => void;

/** How long a committed change may wait for others to share its message: a watcher hears of it that much later. */
const BATCH_MS = 10;

/**
 * Order changes across instances over Redis pub/sub: every instance publishes the changes it commits, and an
 * instance serving WatchOrder listens while it has a watch open and wakes the watchers of the orders named. Pub/sub
 * may drop a message (a reconnect), so it is only a wake-up: watchers re-read the order from MySQL, and also re-read
 * on a slow timer.
 *
 * One channel for the whole deployment (its queue prefix), one message per 10 ms naming every order whose
 * change committed in them. It was one channel per order, and so one PUBLISH per change: ~35 µs of a first
 * notify's CPU (perf, 3.6 %), for announcements nobody is listening to unless a watch is open. A listening instance
 * now hears every change of the deployment, at most 100 short messages a second from each instance, and looks each order up
 * in its map of watches.
 */
export class OrderFeed {
  /** The watched orders (pay_no) and their listeners. */
  private readonly watched = new Map<string, Set<Listener>>();
  /** The SUBSCRIBE to the feed while anything is watched, shared by every watch. */
  private subscribed: Promise<void> | undefined;
  private readonly channel: string;
  private readonly closing = new AbortController();
  /** Changes committed since the last message, published BATCH_MS after the first of them. */
  private pending: OrderChange[] = [];
  /** While Redis is down every commit fails to publish at once (no offline queue): one line per 10 s, not per commit. */
  private readonly publishFailed = throttled((err: unknown) => this.log.warn({ err }, 'could not publish order changes'));

  constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.channel = `${prefix}:orders`;
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel || this.watched.size === 0) return;
      for (const payNo of message.split(' ')) for (const fn of this.watched.get(payNo) ?? []) fn();
    });
  }

  /** Aborted when the instance shuts down, so open watches end at once instead of holding the drain. */
  get closed(): AbortSignal {
    return this.closing.signal;
  }

  /**
   * Fire and forget: a lost announcement costs a watcher one poll interval, nothing more. The changes committed
   * within BATCH_MS of the first go out together, in one message (under load dozens of transactions commit in that
   * time; batched per turn of the event loop instead, perf still showed one PUBLISH per first notify: ~40 µs each,
   * most of it the kernel waking Redis for the write).
   */
  publish(changes: OrderChange[]): void {
    if (changes.length === 0) return;
    if (this.pending.length === 0) setTimeout(() => this.flush(), BATCH_MS).unref();
    for (const c of changes) this.pending.push(c);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let message = batch[0].payNo;
    for (let i = 1; i < batch.length; i++) message += ` ${batch[i].payNo}`;
    try {
      this.pub.publish(this.channel, message).catch((err: unknown) => this.publishFailed(err));
    } catch (err) {
      this.publishFailed(err); // outside any call or transaction now: a throw here would end the process
    }
  }

  /** Calls `fn` whenever the order may have changed, once subscribed; returns the unsubscribe. */
  async subscribe(payNo: string, fn: Listener): Promise<() => Promise<void>> {
    let listeners = this.watched.get(payNo);
    if (!listeners) this.watched.set(payNo, (listeners = new Set()));
    listeners.add(fn);
    const subscribed = (this.subscribed ??= this.subscribeToFeed());
    try {
      await subscribed; // a later watcher waits for the first one's SUBSCRIBE too
    } catch (err) {
      this.forget(payNo, fn);
      throw err;
    }
    return () => {
      this.forget(payNo, fn);
      return Promise.resolve();
    };
  }

  private subscribeToFeed(): Promise<void> {
    const subscribing = this.sub.subscribe(this.channel).then(() => undefined);
    // A failed SUBSCRIBE must not leave a promise that makes later watchers skip subscribing.
    subscribing.catch(() => {
      if (this.subscribed === subscribing) this.subscribed = undefined;
    });
    return subscribing;
  }

  /** Drops a listener; the last one gone ends the subscription (commands on one connection run in order, so a
   * SUBSCRIBE of a watch that comes next lands after this UNSUBSCRIBE). */
  private forget(payNo: string, fn: Listener): void {
    const listeners = this.watched.get(payNo);
    if (!listeners?.delete(fn)) return;
    if (listeners.size === 0) this.watched.delete(payNo);
    if (this.watched.size > 0 || this.subscribed === undefined) return;
    this.subscribed = undefined;
    this.sub.unsubscribe(this.channel).catch(() => undefined);
  }

  /** Ends every watch at once (before the first await), then closes the subscriber connection. */
  async close(): Promise<void> {
    this.closing.abort();
    await closeRedis(this.sub);
  }
}
