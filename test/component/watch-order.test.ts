import { status } from '@grpc/grpc-js';
import { PaymentClient, PaymentError } from '../../src/client';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { OrderFeed } from '../../src/infra/order-feed';
import { closeRedis, createRedis } from '../../src/infra/redis';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

let a: Harness;
let b: Harness;
let client: PaymentClient;
beforeAll(async () => {
  // A serves the watch and re-reads only once a minute on its own: a change it reports in time came over the feed.
  // Replicas of one deployment share the queue prefix, which also names the change feed's channel.
  const QUEUE_PREFIX = `{${uniq('watch')}}`;
  a = await startHarness({ WATCH_POLL_MS: '60000', QUEUE_PREFIX });
  b = await startHarness({ QUEUE_PREFIX }, { gateway: a.gateway, gatewayUrl: a.gatewayUrl });
  client = new PaymentClient(a.address, { token: a.token });
});
afterAll(async () => {
  client.close();
  await b.close();
  await a.close();
});

async function collect(stream: AsyncIterable<PayOrder>, seen: PayOrder[]): Promise<void> {
  for await (const o of stream) seen.push(o);
}

describe('WatchOrder', () => {
  it('When another instance takes the order through prepay and payment, then the watcher sees each change and the stream ends', async () => {
    const tenant = await newTenant(a, 'twatch');
    const order = await createOrder(b, tenant);
    const seen: PayOrder[] = [];
    const done = collect(client.watchOrder({ tenantId: tenant, payNo: order.payNo }, { deadlineMs: 20000 }), seen);
    await eventually(() => Promise.resolve(seen.length === 1));
    expect(seen[0].status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);

    const pre = await b.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    await eventually(() => Promise.resolve(seen.length === 2));
    expect(seen[1].status).toBe(OrderStatus.ORDER_STATUS_PAYING);

    a.gateway.pay(pre.attemptNo); // the notify goes to B's sidecar
    await done; // ends by itself once the order is paid
    expect(seen.map((o) => o.status)).toEqual([
      OrderStatus.ORDER_STATUS_WAIT_PAY,
      OrderStatus.ORDER_STATUS_PAYING,
      OrderStatus.ORDER_STATUS_SUCCESS,
    ]);
    expect(seen.map((o) => o.version)).toEqual([1n, 2n, 3n]);
  });

  it('When the order is already final, then the stream sends it once and ends', async () => {
    const tenant = await newTenant(a, 'twatch');
    const order = await createOrder(a, tenant);
    await a.call('cancel', { order: ref(order), reason: '' });
    const seen: PayOrder[] = [];
    await collect(client.watchOrder({ tenantId: tenant, outOrderNo: order.outOrderNo }), seen);
    expect(seen.map((o) => o.status)).toEqual([OrderStatus.ORDER_STATUS_CLOSED]);
  });

  it('When the order does not exist or the request is malformed, then the stream fails with NOT_FOUND or INVALID_ARGUMENT', async () => {
    const missing = await collect(client.watchOrder({ tenantId: await newTenant(a), payNo: 'P404' }), []).catch((e: unknown) => e);
    expect((missing as PaymentError).code).toBe(status.NOT_FOUND);
    const bad = await collect(client.watchOrder({ tenantId: '', payNo: 'P1' }), []).catch((e: unknown) => e);
    expect((bad as PaymentError).code).toBe(status.INVALID_ARGUMENT);
    expect((bad as PaymentError).field).toBe('order.tenant_id');
  });

  it('When the caller stops watching, then the server lets go of the subscription', async () => {
    const tenant = await newTenant(a, 'twatch');
    const order = await createOrder(a, tenant);
    const stop = new AbortController();
    const seen: PayOrder[] = [];
    const done = collect(client.watchOrder({ tenantId: tenant, payNo: order.payNo }, { signal: stop.signal }), seen);
    await eventually(() => Promise.resolve(seen.length === 1));
    const feed = a.service.deps.orderFeed as unknown as { watched: Map<string, unknown> };
    expect(feed.watched.has(order.payNo)).toBe(true);
    stop.abort();
    await done;
    await eventually(() => Promise.resolve(!feed.watched.has(order.payNo)));
  });

  it('When several orders change within a few milliseconds, then one message names them all and only their watchers wake', async () => {
    const prefix = `{${uniq('feed')}}`;
    const [pub, sub, spy] = [createRedis(process.env.REDIS_URL!), createRedis(process.env.REDIS_URL!), createRedis(process.env.REDIS_URL!)];
    const feed = new OrderFeed(pub, sub, prefix, a.service.deps.log);
    try {
      const messages: string[] = [];
      spy.on('message', (_channel: string, message: string) => messages.push(message));
      await spy.subscribe(`${prefix}:orders`);
      const woken: string[] = [];
      const stopA = await feed.subscribe('PA', () => woken.push('PA'));
      await feed.subscribe('PC', () => woken.push('PC'));

      feed.publish([{ payNo: 'PA', status: 'PAYING', version: 2n }]);
      feed.publish([
        { payNo: 'PB', status: 'SUCCESS', version: 3n },
        { payNo: 'PC', status: 'CLOSED', version: 2n },
      ]);
      await eventually(() => Promise.resolve(woken.length === 2 && messages.length === 1));
      expect(messages).toEqual(['PA PB PC']);
      expect(woken.sort()).toEqual(['PA', 'PC']);

      await stopA();
      feed.publish([{ payNo: 'PA', status: 'SUCCESS', version: 3n }]);
      feed.publish([{ payNo: 'PC', status: 'CLOSED', version: 3n }]);
      await eventually(() => Promise.resolve(woken.length === 3 && messages.length === 2));
      expect(messages).toEqual(['PA PB PC', 'PA PC']);
      expect(woken.sort()).toEqual(['PA', 'PC', 'PC']); // the watch of PA that stopped hears nothing more
    } finally {
      await feed.close();
      await Promise.all([closeRedis(pub), closeRedis(spy)]);
    }
  });
});
