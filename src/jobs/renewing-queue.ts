import type { Queue } from 'bullmq';

/**
 * A producer's BullMQ queue that is made again when its setup failed.
 *
 * BullMQ sets a queue up once, when it is made: it reads the server's version (INFO) and keeps that promise for the
 * queue's life. When Redis went away while that INFO was unanswered, every later command through the queue fails
 * with the setup's error ("Reached the max retries per request limit"), although the shared connection comes back
 * at once. A stop-39 chaos run lost four events that way: a topic queue made during a Redis restart failed every
 * delivery to its topic for 93 s. Queues made at start (timeouts, status sync, deliveries…) have the same window,
 * one INFO at boot, and would stay broken until the process restarted.
 *
 * So the queue is read through `current`: once its setup has failed, the next read makes a new queue on the same
 * connection (and closes the failed one). A setup still waiting for the connection is not a failure (BullMQ waits
 * for `ready`), so an outage makes one new queue, not one per call. Error listeners given to `onError` are put on
 * every queue made. The shared connection is not closed by a queue's close (BullMQ leaves a connection it was given).
 */
export class RenewingQueue<Q extends Queue> {
  private queue: Q;
  private failed = false;
  private closed = false;
  private readonly errorListeners: ((err: Error) => void)[] = [];

  constructor(private readonly make: () => Q) {
    this.queue = this.watched(make());
  }

  /** The queue to use now: a new one if the last one's setup failed. */
  get current(): Q {
    if (this.failed && !this.closed) {
      const old = this.queue;
      this.failed = false;
      this.queue = this.watched(this.make());
      void old.close().catch(() => undefined);
    }
    return this.queue;
  }

  /** Listens to the errors of this queue and of every queue made in its place. */
  onError(listener: (err: Error) => void): void {
    this.errorListeners.push(listener);
    this.queue.on('error', listener);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.queue.close();
  }

  private watched(queue: Q): Q {
    for (const listener of this.errorListeners) queue.on('error', listener);
    queue.waitUntilReady().catch(() => {
      if (this.queue === queue) this.failed = true;
    });
    return queue;
  }
}

/**
 * What every producer of jobs has (the timeouts, status sync, deliveries, the sweep's, automatic refunds,
 * reconciliation): its queue, read through a RenewingQueue, and a close that closes it.
 */
export abstract class QueueProducer<Q extends Queue> {
  /** The queue, made again when its setup failed. */
  readonly producer: RenewingQueue<Q>;

  protected constructor(make: () => Q) {
    this.producer = new RenewingQueue(make);
  }

  /**
   * The queue now (a new one once a setup failed). Read by the operators' queue board; jobs are added through the
   * subclass's methods only.
   */
  get queue(): Q {
    return this.producer.current;
  }

  close(): Promise<void> {
    return this.producer.close();
  }
}
