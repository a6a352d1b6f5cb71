/**
 * What the order service runs to learn of payments: a BullMQ worker on the queue its orders name as their
 * notify topic (under the same prefix as paysvc's EVENT_QUEUE_PREFIX), reading payment.v1.PaymentEvent as
 * proto3 JSON. Delivery is at least once and not ordered, so the consumer
 *   - dedupes on event_id (a redelivery or a ReplayEvent carries the same id);
 *   - keeps the facts only one event carries, whatever its version: a refund's outcome (the event's `refund`:
 *     refund_no, amount, status, reason, requested_by, channel_refund_no) and a duplicate payment (its
 *     channel_trade_no, pay_way and paid_at);
 *   - updates its view of the order (status, paid and refunded totals) only from an event whose version is
 *     above the last one applied for the pay_no: every event carries the whole order state (status, amounts,
 *     paid_at, pay_way, channel_trade_no, close_reason), so the newest wins and no Query is needed.
 * Run it: `npx tsx examples/order-consumer.ts order.pay.notify` (REDIS_URL or REDIS_CLUSTER_NODES, and
 * EVENT_QUEUE_PREFIX, as for paysvc). On a Redis Cluster the prefix's braces keep each topic queue in one slot,
 * as BullMQ requires.
 *
 * The store here is in memory to keep the example short. A real order service does these in the same database
 * transaction that updates its order, e.g. INSERT the event id into a processed_event table (unique key), upsert
 * the refund by refund_no, and `UPDATE orders SET pay_status = ?, pay_version = ? WHERE order_no = ? AND
 * pay_version < ?`.
 */
import { Worker, type Job } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { parseClusterNodes } from '../src/infra/redis';
import { PaymentEvent, PaymentEventType } from '../src/gen/payment/v1/events';
import { CloseReason, OrderStatus, PayWay, RefundStatus } from '../src/gen/payment/v1/types';

export type Verdict = 'applied' | 'duplicate' | 'stale';

interface OrderView {
  version: bigint;
  status: OrderStatus;
  refundedAmount: bigint;
  /** Why it closed (CANCELLED, EXPIRED, PAYMENT_FAILED), e.g. to tell the buyer. */
  closeReason: CloseReason;
  paidAt?: Date;
  payWay: PayWay;
  channelTradeNo: string;
  lastEvent: PaymentEventType;
}

/** The order side's memory of what it applied: event ids seen, the order views, and per-event facts. */
export class InMemoryOrderSide {
  readonly seen = new Set<string>();
  readonly orders = new Map<string, OrderView>();
  /** Refund outcomes by refund_no: applied even when the event is older than the order view. */
  readonly refunds = new Map<
    string,
    { payNo: string; outRefundNo: string; amount: bigint; status: RefundStatus; reason: string; requestedBy: string }
  >();
  /** Second payments of paid orders (the buyer paid twice): each needs a refund or a human. */
  readonly duplicatePayments: { payNo: string; channelTradeNo: string; payWay: PayWay; paidAt?: Date }[] = [];

  apply(event: PaymentEvent): Verdict {
    if (this.seen.has(event.eventId)) return 'duplicate';
    this.seen.add(event.eventId);
    const fact = this.applyFact(event);
    const current = this.orders.get(event.payNo);
    if (current && event.version <= current.version) return fact ? 'applied' : 'stale';
    this.orders.set(event.payNo, {
      version: event.version,
      status: event.status,
      refundedAmount: event.refundedAmount,
      closeReason: event.closeReason,
      paidAt: event.paidAt,
      payWay: event.payWay,
      channelTradeNo: event.channelTradeNo,
      lastEvent: event.type,
    });
    return 'applied';
  }

  private applyFact(event: PaymentEvent): boolean {
    switch (event.type) {
      case PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_FAILED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_DUPLICATE_PAYMENT_REFUNDED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_AUTOMATIC_REFUND_FAILED:
        if (event.refund) {
          const { refundNo, outRefundNo, amount, status, reason, requestedBy } = event.refund;
          this.refunds.set(refundNo, { payNo: event.payNo, outRefundNo, amount, status, reason, requestedBy });
        }
        return true;
      case PaymentEventType.PAYMENT_EVENT_TYPE_DUPLICATE_PAYMENT:
        this.duplicatePayments.push({
          payNo: event.payNo,
          channelTradeNo: event.channelTradeNo,
          payWay: event.payWay,
          paidAt: event.paidAt,
        });
        return true;
      // The order's own state: every event carries all of it, so apply() keeps the newest version and there is
      // no fact of this one event to keep (PAYMENT_REFUNDED_AT_CHANNEL shows as the view's lastEvent). A type
      // added to the proto must be placed here or above; PaymentEvent.fromJSON throws on one it does not know.
      case PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_FAILED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_RETRIED: // PAYING again: the view's status says so
      case PaymentEventType.PAYMENT_EVENT_TYPE_ORDER_CLOSED:
      case PaymentEventType.PAYMENT_EVENT_TYPE_PAID_AFTER_CLOSE:
      case PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_REFUNDED_AT_CHANNEL:
      case PaymentEventType.PAYMENT_EVENT_TYPE_RECONCILIATION_DIFFERENCE: // the order is as it was; a person looks
      case PaymentEventType.PAYMENT_EVENT_TYPE_UNSPECIFIED: // never sent
        return false;
    }
  }
}

export interface ConsumerOptions {
  /** A Redis or a Redis Cluster client with maxRetriesPerRequest null (a BullMQ worker blocks on it). */
  connection: Redis | Cluster;
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
  const clusterNodes = process.env.REDIS_CLUSTER_NODES;
  const connection = clusterNodes
    ? new Cluster(parseClusterNodes(clusterNodes), { redisOptions: { maxRetriesPerRequest: null } })
    : new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6380', { maxRetriesPerRequest: null });
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
