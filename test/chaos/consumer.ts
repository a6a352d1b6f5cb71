import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { InMemoryOrderSide, startOrderConsumer } from '../../examples/order-consumer';
import { TOPIC } from './load';

/**
 * The example order-side consumer (examples/order-consumer.ts) on the orders' topic, in the run's process so its
 * memory of what it applied survives while it is "down" (its worker closed, as a stopped order service's would be).
 */
export class OrderSide {
  readonly store = new InMemoryOrderSide();
  /** Deliveries per event id, and how many of them the consumer applied (not answered as a duplicate). */
  readonly deliveries = new Map<string, number>();
  readonly applied = new Map<string, number>();
  private running?: { worker: Worker; connection: Redis };

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
  ) {}

  get up(): boolean {
    return !!this.running;
  }

  start(): void {
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    const { worker } = startOrderConsumer({
      connection,
      prefix: this.prefix,
      topic: TOPIC,
      store: this.store,
      onEvent: (event, verdict) => {
        this.deliveries.set(event.eventId, (this.deliveries.get(event.eventId) ?? 0) + 1);
        if (verdict !== 'duplicate') this.applied.set(event.eventId, (this.applied.get(event.eventId) ?? 0) + 1);
      },
    });
    worker.on('error', () => undefined); // Redis restarts: the worker reconnects by itself
    this.running = { worker, connection };
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    await running.worker.close();
    running.connection.disconnect();
  }
}
