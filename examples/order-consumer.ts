/**
 * What the order service runs to learn of payments: a BullMQ worker on the queue its orders name as their
 * notify topic (under the same prefix as paysvc's EVENT_QUEUE_PREFIX), reading payment.v1.PaymentEvent as
 * proto3 JSON. Delivery is at least once and not ordered, so the consumer
 *   - dedupes on event_id (a redelivery or a ReplayEvent carries the same id), and
 *   - ignores an event whose version is not above the last one applied for its pay_no: every event carries the
 *     whole order state (status, amounts), so the newest one wins and an older one adds nothing.
 * Run it: `npx tsx examples/order-consumer.ts order.pay.notify` (REDIS_URL, EVENT_QUEUE_PREFIX as for paysvc).
 *
 * The store here is in memory to keep the example short. A real order service does both checks in the same
 * database transaction that updates its order, e.g. INSERT the event id into a processed_event table (unique key)
 * and `UPDATE orders SET pay_status = ?, pay_version = ? WHERE order_no = ? AND pay_version < ?`.
 */
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { PaymentEvent, PaymentEventType } from '../src/gen/payment/v1/events';
import { OrderStatus } from '../src/gen/payment/v1/types';

export type Verdict = 'applied' | 'duplicate' | 'stale';

/** The order side's memory of what it applied: event ids seen, and the last version per pay no. */
export class InMemoryOrderSide {
  readonly seen = new Set<string>();
  readonly orders = new Map<string, { version: bigint; status: OrderStatus; refundedAmount: bigint; lastEvent: PaymentEventType }>();

  apply(event: PaymentEvent): Verdict {
    if (this.seen.has(event.eventId)) return 'duplicate';
    this.seen.add(event.eventId);
    const current = this.orders.get(event.payNo);
    if (current && event.version <= current.version) return 'stale';
    this.orders.set(event.payNo, { version: event.version, status: event.status, refundedAmount: event.refundedAmount, lastEvent: event.type });
    return 'applied';
  }
}

export interface ConsumerOptions {
  connection: Redis;
  /** paysvc's EVENT_QUEUE_PREFIX. */
  prefix: string;
  /** The notify_topic the orders were created with. */
  topic: string;
  store?: InMemoryOrderSide;
  onEvent?: (event: PaymentEvent, verdict: Verdict) => void;
}

export function startOrderConsumer(opts: ConsumerOptions): { worker: Worker; store: InMemoryOrderSide } {
  const store = opts.store ?? new InMemoryOrderSide();
  const worker = new Worker(
    opts.topic,
    async (job: Job) => {
      const event = PaymentEvent.fromJSON(job.data);
      const verdict = store.apply(event);
      opts.onEvent?.(event, verdict);
      return verdict;
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: 4 },
  );
  return { worker, store };
}

if (require.main === module) {
  const topic = process.argv[2] ?? 'order.pay.notify';
  const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6380', { maxRetriesPerRequest: null });
  const { worker } = startOrderConsumer({
    connection,
    prefix: process.env.EVENT_QUEUE_PREFIX ?? '{paysvc-events}',
    topic,
    onEvent: (e, verdict) =>
      console.log(
        `${verdict.padEnd(9)} ${PaymentEventType[e.type].replace('PAYMENT_EVENT_TYPE_', '')} ${e.payNo} v${e.version} ` +
          `${OrderStatus[e.status].replace('ORDER_STATUS_', '')} amount=${e.amount} refunded=${e.refundedAmount} (${e.eventId})`,
      ),
  });
  console.log(`consuming payment events from ${topic}; Ctrl-C to stop`);
  process.once('SIGINT', () => void worker.close().then(() => connection.quit()));
}
