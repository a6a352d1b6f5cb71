import type { Redis } from 'ioredis';
import { startOrderConsumer, type Verdict } from '../../examples/order-consumer';
import type { PaymentEvent, PaymentEventType } from '../../src/gen/payment/v1/events';

export interface Received {
  event: PaymentEvent;
  verdict: Verdict;
}

/** The demo's order side: examples/order-consumer.ts on the run's topic, with a way to wait for one event. */
export class EventInbox {
  private readonly received: Received[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly consumer: ReturnType<typeof startOrderConsumer>;

  constructor(connection: Redis, prefix: string, topic: string) {
    this.consumer = startOrderConsumer({
      connection,
      prefix,
      topic,
      onEvent: (event, verdict) => {
        this.received.push({ event, verdict });
        for (const wake of this.waiters) wake();
      },
    });
  }

  ready(): Promise<void> {
    return this.consumer.worker.waitUntilReady().then(() => undefined);
  }

  /** The first event of `type` for `payNo` the consumer received (now or later); ends when `signal` aborts. */
  async next(payNo: string, type: PaymentEventType, signal: AbortSignal): Promise<Received> {
    for (;;) {
      const hit = this.received.find((r) => r.event.payNo === payNo && r.event.type === type);
      if (hit) return hit;
      if (signal.aborted) throw new Error('aborted');
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  close(): Promise<void> {
    return this.consumer.worker.close();
  }
}
