import { status } from '@grpc/grpc-js';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { QUEUE } from '../../src/jobs/queues';
import express from 'express';
import type { Server } from 'node:http';
import { InMemoryOrderSide, startOrderConsumer } from '../../examples/order-consumer';
import { webhookApp } from '../../examples/webhook-receiver';
import { DeliveryStatus, PaymentEvent, PaymentEventType } from '../../src/gen/payment/v1/events';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signWebhook, verifyWebhook } from '../../src/events/webhook-signature';
import { eventually, freePort, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';

/** A webhook endpoint that answers `failFirst` deliveries with 500, then verifies and stores. */
async function webhookEndpoint(failFirst = 0) {
  const received: { eventId: string; signature: string; body: string }[] = [];
  let failures = failFirst;
  const { app: receiver, store } = webhookApp(SECRET);
  const app = express();
  app.use((req, res) => {
    if (failures > 0) {
      failures -= 1;
      return void res.status(500).end();
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ eventId: String(req.get(EVENT_ID_HEADER)), signature: String(req.get(SIGNATURE_HEADER)), body });
      res.status(200).end();
    });
  });
  const port = await freePort();
  const server: Server = await new Promise((r) => {
    const s = app.listen(port, '127.0.0.1', () => r(s));
  });
  return {
    url: `http://127.0.0.1:${port}/paysvc/events`,
    received,
    receiver,
    store,
    setFailures: (n: number) => (failures = n),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const eventsOf = async (h: Harness, order: Parameters<typeof ref>[0]) =>
  (await h.call('listEvents', { pageSize: 0, pageToken: '', order: ref(order) })).events;

describe('event fan-out to the order side', () => {
  let h: Harness;
  let topic: string;
  let consumer: ReturnType<typeof startOrderConsumer>;
  const seen: { event: PaymentEvent; verdict: string }[] = [];
  const prefix = `{${uniq('ev')}}`;

  beforeAll(async () => {
    h = await startHarness({ EVENT_QUEUE_PREFIX: prefix });
    topic = uniq('orders.pay.');
    consumer = startOrderConsumer({
      connection: h.service.deps.queueRedis,
      prefix,
      topic,
      onEvent: (event, verdict) => seen.push({ event, verdict }),
    });
  });
  afterAll(async () => {
    await consumer.worker.close();
    await h.close();
  });

  it('When an order is paid, then PAYMENT_SUCCEEDED reaches its topic queue as proto3 JSON under the event id, and ListEvents shows it delivered', async () => {
    const tenant = await newTenant(h, 'tev');
    const mine = await createOrder(h, tenant, { notifyTopic: topic, amount: 1234n, attach: 'cart-7' });
    const pre = await h.call('prepay', { order: ref(mine), payWay: 1, clientIp: '', payerId: '' });
    h.gateway.pay(pre.attemptNo);
    const got = await eventually(() => Promise.resolve(seen.find((s) => s.event.payNo === mine.payNo)));
    expect(got.verdict).toBe('applied');
    expect(got.event.type).toBe(PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED);
    expect(got.event).toMatchObject({ tenantId: tenant, outOrderNo: mine.outOrderNo, amount: 1234n, currency: 'CNY', attach: 'cart-7' });
    expect(got.event.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    expect(got.event.channelTradeNo).not.toBe('');

    const topicJob = await new Queue(topic, { connection: h.service.deps.queueRedis, prefix }).getJob(got.event.eventId);
    expect(topicJob?.data).toEqual(PaymentEvent.toJSON(got.event));

    const [record] = await eventually(async () => {
      const events = await eventsOf(h, mine);
      return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
    });
    expect(record.event!.eventId).toBe(got.event.eventId);
    expect(record.topic).toBe(topic);
    expect(record.attempts).toBe(1);
    expect(record.deliveries).toEqual([expect.objectContaining({ attempt: 1, target: `queue:${topic}`, ok: true })]);
  });

  it('When an order is paid and refunded twice, then its events carry growing versions and a consumer ends at the newest state', async () => {
    const tenant = await newTenant(h, 'tev');
    const order = await createOrder(h, tenant, { notifyTopic: topic, amount: 3000n });
    const pre = await h.call('prepay', { order: ref(order), payWay: 1, clientIp: '', payerId: '' });
    h.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );
    await h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 1000n, reason: '' });
    await h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 2000n, reason: '' });
    const mine = await eventually(() =>
      Promise.resolve(seen.filter((s) => s.event.payNo === order.payNo).length === 3 && seen.filter((s) => s.event.payNo === order.payNo)),
    );
    const byVersion = [...mine].sort((a, b) => Number(a.event.version - b.event.version));
    expect(byVersion.map((s) => s.event.type)).toEqual([
      PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED,
      PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED,
      PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED,
    ]);
    const versions = byVersion.map((s) => s.event.version);
    expect(new Set(versions).size).toBe(3);
    expect(consumer.store.orders.get(order.payNo)).toMatchObject({
      version: versions[2],
      status: OrderStatus.ORDER_STATUS_REFUNDED,
      refundedAmount: 3000n,
    });

    // Delivered out of order, an older event is ignorable: the consumer keeps the newest state.
    const side = new InMemoryOrderSide();
    expect(side.apply(byVersion[2].event)).toBe('applied');
    expect(side.apply(byVersion[0].event)).toBe('stale');
    expect(side.apply(byVersion[2].event)).toBe('duplicate');
    expect(side.orders.get(order.payNo)?.status).toBe(OrderStatus.ORDER_STATUS_REFUNDED);
    // The first refund's event arriving last is older than the view, but its refund is still recorded.
    expect(side.apply(byVersion[1].event)).toBe('applied');
    expect(side.orders.get(order.payNo)?.version).toBe(versions[2]);
    expect([...side.refunds.values()].map((r) => r.amount).sort()).toEqual([1000n, 2000n]);
  });

  it('When a delivery job runs twice, then nothing is delivered twice; when an event is replayed, then the order side gets it again under the same event id', async () => {
    const tenant = await newTenant(h, 'tev');
    const order = await createOrder(h, tenant, { notifyTopic: topic });
    await h.call('cancel', { order: ref(order), reason: 'changed my mind' });
    const [closed] = await eventually(async () => {
      const events = await eventsOf(h, order);
      return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
    });
    const eventId = closed.event!.eventId;
    const deliveries = h.service.deps.jobs.deliveries;
    expect(await deliveries.run(h.service.deps, eventId)).toBe('already DELIVERED');

    const replayed = await h.call('replayEvent', { tenantId: tenant, eventId });
    expect(replayed.event!.event!.eventId).toBe(eventId);
    const [again] = await eventually(async () => {
      const events = await eventsOf(h, order);
      return events[0]?.deliveries.length === 3 && events[0].deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
    });
    expect(again.deliveries.map((d) => d.target)).toEqual([`queue:${topic}`, 'replay', `queue:${topic}`]);
    // The replay really reached the order side again (the topic queue's done job was dropped first), under the
    // same event id, so the consumer recognised it.
    const copies = await eventually(async () => {
      const c = seen.filter((x) => x.event.eventId === eventId);
      return c.length === 2 && c;
    });
    expect(copies.map((c) => c.verdict)).toEqual(['applied', 'duplicate']);
    const topicJob = await new Queue(topic, { connection: h.service.deps.queueRedis, prefix }).getJob(eventId);
    expect(topicJob?.id).toBe(eventId);
  });

  it('When ListEvents or ReplayEvent is asked about something unknown or malformed, then it says so and changes nothing', async () => {
    await grpcError(
      h.call('listEvents', { pageSize: 0, pageToken: '', order: { tenantId: await newTenant(h), key: { $case: 'payNo', value: 'P0' } } }),
      status.NOT_FOUND,
    );
    const tenant = await newTenant(h);
    const bad = await grpcError(h.call('replayEvent', { tenantId: tenant, eventId: 'not-a-uuid' }), status.INVALID_ARGUMENT);
    expect(bad.metadata.get('field')).toEqual(['event_id']);
    await grpcError(h.call('replayEvent', { tenantId: tenant, eventId: '00000000-0000-4000-8000-000000000000' }), status.NOT_FOUND);
    // Another tenant's event is not found either.
    const order = await createOrder(h, await newTenant(h, 'tev'));
    await h.call('cancel', { order: ref(order), reason: '' });
    const [e] = await eventually(async () => (await eventsOf(h, order)).length > 0 && eventsOf(h, order));
    await grpcError(h.call('replayEvent', { tenantId: await newTenant(h, 'someone-else'), eventId: e.event!.eventId }), status.NOT_FOUND);
  });
});

describe('events committed but never queued', () => {
  it('When the process dies between commit and enqueue, then another instance relays the event and nothing is lost', async () => {
    const prefix = `{${uniq('ev')}}`;
    // An instance without workers: it commits changes and their outbox rows, but never relays (as if killed
    // right after each commit).
    const first = await startHarness({ WORKERS_ENABLED: 'false', EVENT_QUEUE_PREFIX: prefix });
    const order = await createOrder(first, await newTenant(first, 'tkill'));
    await first.call('cancel', { order: ref(order), reason: 'killed before relay' });
    const [pending] = await eventsOf(first, order);
    expect(pending.deliveryStatus).toBe(DeliveryStatus.DELIVERY_STATUS_PENDING);
    await first.close();

    const second = await startHarness({ EVENT_QUEUE_PREFIX: prefix }, { gateway: first.gateway, gatewayUrl: first.gatewayUrl });
    try {
      const [delivered] = await eventually(async () => {
        const events = await eventsOf(second, order);
        return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
      }, 10000);
      const job = await new Queue(order.notifyTopic, { connection: second.service.deps.queueRedis, prefix }).getJob(
        delivered.event!.eventId,
      );
      expect(PaymentEvent.fromJSON(job!.data).type).toBe(PaymentEventType.PAYMENT_EVENT_TYPE_ORDER_CLOSED);
    } finally {
      await second.close();
      await first.gateway.close();
    }
  });
});

describe('delivery jobs that ended without settling their event', () => {
  it("When an event's job failed on unexpected errors, then the sweep queues it again and it is delivered", async () => {
    const QUEUE_PREFIX = `{${uniq('lost')}}`;
    const EVENT_QUEUE_PREFIX = `{${uniq('ev')}}`;
    const first = await startHarness({ WORKERS_ENABLED: 'false', QUEUE_PREFIX, EVENT_QUEUE_PREFIX });
    const order = await createOrder(first, await newTenant(first, 'tlost'));
    await first.call('cancel', { order: ref(order), reason: '' });
    const [{ event }] = await eventsOf(first, order);
    const eventId = event!.eventId;
    // Its delivery job runs on a worker whose every run throws (say, the database was unreachable): it fails.
    await first.service.deps.jobs.deliveries.enqueue([eventId]);
    const broken = new Worker(
      QUEUE.eventDelivery,
      async () => {
        throw new UnrecoverableError('database unreachable');
      },
      {
        connection: first.service.deps.queueRedis,
        prefix: QUEUE_PREFIX,
      },
    );
    const queue = new Queue(QUEUE.eventDelivery, { connection: first.service.deps.queueRedis, prefix: QUEUE_PREFIX });
    await eventually(async () => (await queue.getJob(eventId))?.isFailed());
    await broken.close();
    await first.service.deps.db
      .$executeRaw`UPDATE outbox_event SET status = 'QUEUED', next_attempt_at = NOW(3) - INTERVAL 1 HOUR WHERE id = ${eventId}`;
    await first.close();

    const second = await startHarness({ QUEUE_PREFIX, EVENT_QUEUE_PREFIX }, { gateway: first.gateway, gatewayUrl: first.gatewayUrl });
    try {
      await second.service.deps.jobs.sweeper.run(second.service.deps);
      const [delivered] = await eventually(async () => {
        const events = await eventsOf(second, order);
        return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
      }, 10000);
      expect(delivered.attempts).toBe(1);
    } finally {
      await queue.close();
      await second.close();
      await first.gateway.close();
    }
  });
});

describe('webhook delivery', () => {
  it('When the webhook fails twice, then the third try delivers, each try is recorded, and the signature verifies', async () => {
    const hook = await webhookEndpoint(2);
    const h = await startHarness({ EVENT_WEBHOOK_URL: hook.url, EVENT_WEBHOOK_SECRET: SECRET });
    try {
      const order = await createOrder(h, await newTenant(h, 'thook'));
      await h.call('cancel', { order: ref(order), reason: '' });
      const [record] = await eventually(async () => {
        const events = await eventsOf(h, order);
        return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
      }, 10000);
      expect(record.attempts).toBe(3);
      expect(record.deliveries.filter((d) => d.target === 'webhook').map((d) => [d.attempt, d.ok, d.detail])).toEqual([
        [1, false, 'HTTP 500'],
        [2, false, 'HTTP 500'],
        [3, true, 'HTTP 200'],
      ]);
      const got = hook.received.find((r) => r.eventId === record.event!.eventId)!;
      expect(() => verifyWebhook(SECRET, got.signature, got.body)).not.toThrow();
      expect(() => verifyWebhook(SECRET, got.signature, got.body.replace('ORDER_CLOSED', 'PAYMENT_SUCCEEDED'))).toThrow('does not match');
      expect(() => verifyWebhook(SECRET, got.signature, got.body, new Date(Date.now() + 301_000))).toThrow('tolerance');
      expect(PaymentEvent.fromJSON(JSON.parse(got.body)).eventId).toBe(record.event!.eventId);
    } finally {
      await h.close();
      await hook.close();
    }
  });

  it('When the webhook keeps failing, then the event is dead-lettered after its schedule, and a replay delivers it once fixed', async () => {
    const hook = await webhookEndpoint(1000);
    const h = await startHarness({ EVENT_WEBHOOK_URL: hook.url, EVENT_WEBHOOK_SECRET: SECRET });
    try {
      const tenant = await newTenant(h, 'tdead');
      const order = await createOrder(h, tenant);
      await h.call('cancel', { order: ref(order), reason: '' });
      const [dead] = await eventually(async () => {
        const events = await eventsOf(h, order);
        return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DEAD && events;
      }, 10000);
      expect(dead.attempts).toBe(4); // the first try and one per delay of '100,200,400'
      expect(dead.lastError).toContain('webhook: HTTP 500');

      hook.setFailures(0);
      await h.call('replayEvent', { tenantId: tenant, eventId: dead.event!.eventId });
      const [delivered] = await eventually(async () => {
        const events = await eventsOf(h, order);
        return events[0]?.deliveryStatus === DeliveryStatus.DELIVERY_STATUS_DELIVERED && events;
      }, 10000);
      expect(delivered.attempts).toBe(1);
      expect(delivered.deliveries.filter((d) => d.target === 'webhook')).toHaveLength(5);
      expect(hook.received.filter((r) => r.eventId === dead.event!.eventId)).toHaveLength(1);
    } finally {
      await h.close();
      await hook.close();
    }
  });

  it('When a signature is built by the helper, then the example receiver accepts it and rejects a forged one', async () => {
    const body = JSON.stringify(PaymentEvent.toJSON(PaymentEvent.fromPartial({ eventId: 'e-1', payNo: 'P1', version: 2n })));
    const { app, store } = webhookApp(SECRET);
    const port = await freePort();
    const server: Server = await new Promise((r) => {
      const s = app.listen(port, '127.0.0.1', () => r(s));
    });
    try {
      const post = (signature: string) =>
        fetch(`http://127.0.0.1:${port}/paysvc/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
          body,
        });
      expect((await post(signWebhook('another-secret-another-secret-12345', body))).status).toBe(400);
      expect(store.orders.size).toBe(0);
      const ok = await post(signWebhook(SECRET, body));
      expect(await ok.json()).toEqual({ verdict: 'applied' });
      expect(await (await post(signWebhook(SECRET, body))).json()).toEqual({ verdict: 'duplicate' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
