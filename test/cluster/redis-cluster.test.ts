import type { Cluster } from 'ioredis';
import { PaymentClient } from '../../src/client';
import { createRedis, type RedisClient } from '../../src/infra/redis';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { startOrderConsumer } from '../../examples/order-consumer';
import { alipayTenant, wechatTenant, type AlipayTenant, type WechatTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { TestRedisCluster } from '../support/redis-cluster';
import { recordWrites } from '../support/socket-writes';

/**
 * Issue 17: paysvc on a Redis Cluster (3 masters, 3 replicas) of the suite's own, through REDIS_CLUSTER_NODES:
 * every Redis use (queues and workers, the Prepay marker, notify limits, the WatchOrder feed, readiness, the order
 * side's topic queues) runs on it; then the master holding the service's slot is killed mid-flow.
 */
const QUEUE_PREFIX = `{${uniq('rc')}}`;
const EVENT_QUEUE_PREFIX = `{${uniq('rcev')}}`;
const TOPIC = 'order.pay.notify';

let cluster: TestRedisCluster;
let h: Harness;
let client: PaymentClient;
let ali: AlipayTenant;
let wx: WechatTenant;
let tenant: string;
let consumerConnection: RedisClient;
let consumer: ReturnType<typeof startOrderConsumer>;

beforeAll(async () => {
  cluster = await TestRedisCluster.start();
  h = await startHarness({
    REDIS_CLUSTER_NODES: cluster.nodes,
    QUEUE_PREFIX,
    EVENT_QUEUE_PREFIX,
    SWEEP_INTERVAL_MS: '500',
    SWEEP_GRACE_MS: '200',
    // Changes must come over the feed: a watcher re-reads on its own only once a minute.
    WATCH_POLL_MS: '60000',
    // Longer than the harness's (100, 200, 400): an event whose topic's master is dying waits out the failover.
    EVENT_RETRY_DELAYS_MS: '500,1000,2000,4000,8000',
  });
  client = new PaymentClient(h.address, { token: h.token });
  tenant = await newTenant(h, 'trc');
  ali = await alipayTenant(h, tenant);
  wx = await wechatTenant(h, tenant);
  consumerConnection = createRedis(cluster.target, { forBullmq: true });
  consumer = startOrderConsumer({ connection: consumerConnection, prefix: EVENT_QUEUE_PREFIX, topic: TOPIC });
});
afterAll(async () => {
  await consumer?.worker.close();
  consumerConnection?.disconnect();
  client?.close();
  await Promise.all([ali?.close(), wx?.close()]);
  await h?.close();
  await cluster?.stop();
});

const db = () => h.service.deps.db;
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
const becomes = (o: PayOrder, s: OrderStatus, timeoutMs?: number) =>
  eventually(async () => ((await statusOf(o)).status === s ? true : undefined), timeoutMs);
async function collect(stream: AsyncIterable<PayOrder>, seen: PayOrder[]): Promise<void> {
  for await (const o of stream) seen.push(o);
}
/** Every event of these orders is DELIVERED and reached the order side's consumer (by event id). */
async function allDelivered(orders: PayOrder[]): Promise<boolean> {
  const events = await db().outboxEvent.findMany({ where: { payNo: { in: orders.map((o) => o.payNo) } } });
  return events.length > 0 && events.every((e) => e.status === 'DELIVERED' && consumer.store.seen.has(e.id));
}
const readyz = async () => (await fetch(`${h.notifyBaseUrl}/readyz`)).status;

describe('paysvc on a Redis Cluster', () => {
  it('When orders are created, prepaid on each channel, paid, refunded, watched, timed out and swept, then all of it works through the cluster', async () => {
    const watched = await createOrder(h, tenant);
    const seen: PayOrder[] = [];
    const watching = collect(client.watchOrder({ tenantId: tenant, payNo: watched.payNo }, { deadlineMs: 30_000 }), seen);
    await eventually(() => Promise.resolve(seen.length === 1));

    // Prepay on each channel, each buyer pays, each notify takes its order to SUCCESS.
    const paid = await Promise.all([createOrder(h, tenant), createOrder(h, tenant), createOrder(h, tenant)]);
    const ways = [PayWay.PAY_WAY_ALIPAY_QR, PayWay.PAY_WAY_WECHAT_NATIVE, PayWay.PAY_WAY_MOCK];
    const attempts = await Promise.all(
      paid.map((o, i) => h.call('prepay', { order: ref(o), payWay: ways[i], clientIp: '127.0.0.1', payerId: '' })),
    );
    ali.sandbox.pay(attempts[0].attemptNo);
    wx.sandbox.pay(attempts[1].attemptNo);
    h.gateway.pay(attempts[2].attemptNo);
    const pre = await h.call('prepay', { order: ref(watched), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.pay(pre.attemptNo);
    for (const o of [...paid, watched]) await becomes(o, OrderStatus.ORDER_STATUS_SUCCESS);
    await watching; // the feed told the watcher of each change; the stream ends with the payment
    expect(seen.map((o) => o.status)).toEqual([
      OrderStatus.ORDER_STATUS_WAIT_PAY,
      OrderStatus.ORDER_STATUS_PAYING,
      OrderStatus.ORDER_STATUS_SUCCESS,
    ]);

    const refunded = await h.call('refund', { order: ref(paid[2]), outRefundNo: uniq('RF'), amount: 10000n, reason: '' });
    expect(refunded.refund?.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);

    // The timeout job of an order whose time has come; an expired order whose job was never added, for the sweep.
    const timedOut = await createOrder(h, tenant);
    const expireAt = new Date();
    await db().payOrder.update({ where: { payNo: timedOut.payNo }, data: { expireAt } });
    await h.service.deps.jobs.timeouts.schedule({ ...timedOut, expireAt });
    const swept = await createOrder(h, tenant);
    await db().payOrder.update({ where: { payNo: swept.payNo }, data: { expireAt: new Date(Date.now() - 60_000) } });
    await becomes(timedOut, OrderStatus.ORDER_STATUS_CLOSED);
    await becomes(swept, OrderStatus.ORDER_STATUS_CLOSED);

    // Every event reached the order side's topic queue, and the consumer on the cluster read it.
    await eventually(() => allDelivered([...paid, watched, timedOut, swept]));
    const types = (await db().outboxEvent.findMany({ where: { payNo: paid[2].payNo }, orderBy: { orderVersion: 'asc' } })).map(
      (e) => e.type,
    );
    expect(types).toEqual(['PAYMENT_SUCCEEDED', 'REFUND_SUCCEEDED']);
    expect(consumer.store.orders.get(paid[2].payNo)?.status).toBe(OrderStatus.ORDER_STATUS_REFUNDED);
    expect(await readyz()).toBe(200);

    // Where it all is: each prefix's keys in its one slot, on the master serving it.
    const master = await cluster.masterOf(QUEUE_PREFIX);
    const conn = cluster.node(master!);
    await conn.connect();
    try {
      const slot = Number(await conn.call('CLUSTER', 'KEYSLOT', QUEUE_PREFIX));
      expect(Number(await conn.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBeGreaterThan(0);
      const keys = (await conn.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')) as string[];
      expect(keys.every((k) => k.startsWith(`${QUEUE_PREFIX}:`))).toBe(true);
      expect(keys.some((k) => k.startsWith(`${QUEUE_PREFIX}:maintenance:`))).toBe(true); // the sweep's queue
    } finally {
      conn.disconnect();
    }
  });

  it("When the service sends commands for its slot in one turn, then they leave in one write to the slot's master", async () => {
    const redis = h.service.deps.redis as Cluster;
    const key = `${QUEUE_PREFIX}:coalesce`;
    await redis.set(key, '0'); // the slot's master is connected (others may not be: nodes connect on first use)
    const recorders = redis
      .nodes('master')
      .filter((node) => node.stream)
      .map((node) => recordWrites(node.stream));
    try {
      const replies = await Promise.all([redis.incr(key), redis.incr(key), redis.get(key), redis.del(key)]);

      expect(replies).toEqual([1, 2, '2', 1]);
      const carrying = recorders.flatMap((r) => r.writes.map(String)).filter((w) => w.includes(key));
      expect(carrying).toHaveLength(1);
    } finally {
      recorders.forEach((r) => r.stop());
    }
  });

  it('When the master holding the service slot is killed mid-flow, then its replica takes over, the service carries on without a restart, and nothing is lost', async () => {
    const victim = (await cluster.masterOf(QUEUE_PREFIX))!;
    const survivors = cluster.ports.filter((p) => p !== victim);
    const before = await createOrder(h, tenant);
    const beforePre = await h.call('prepay', { order: ref(before), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });

    // A steady flow of create + prepay + pay, from before the kill until after the promotion.
    const flowed: PayOrder[] = [];
    const failures: string[] = [];
    let flowing = true;
    let slowestMs = 0;
    let iterationStarted = Date.now();
    const flow = (async () => {
      while (flowing) {
        const started = (iterationStarted = Date.now());
        try {
          const o = await createOrder(h, tenant);
          const p = await h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
          flowed.push(o);
          h.gateway.pay(p.attemptNo);
        } catch (err) {
          failures.push((err as Error).message);
        }
        slowestMs = Math.max(slowestMs, Date.now() - started);
      }
    })();
    await eventually(() => Promise.resolve(flowed.length >= 3));

    const killedAt = Date.now();
    let expiring: PayOrder[] = [];
    /** A wait that fails says where everything stood (this test has failed on a busy CI machine without a clue). */
    const within = async <T>(what: string, wait: Promise<T>): Promise<T> => {
      try {
        return await wait;
      } catch (err) {
        const view = await cluster.view(survivors).catch(() => undefined);
        const unsettled = await db().payOrder.findMany({
          where: { payNo: { in: [before, ...flowed, ...expiring].map((o) => o.payNo) }, status: { notIn: ['SUCCESS', 'CLOSED'] } },
          select: { payNo: true, status: true, expireAt: true },
        });
        const events = await db().outboxEvent.groupBy({ by: ['status'], where: { tenantId: tenant }, _count: true });
        const jobs = h.service.deps.jobs;
        const queues = await Promise.all(
          [jobs.timeouts.queue, jobs.sweeper.queue].map(async (q) => {
            const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed').catch((e: Error) => e.message);
            const waiting = await q.getWaiting(0, 2).catch(() => []);
            return `${q.name} ${JSON.stringify(counts)} waiting ${JSON.stringify(waiting.map((j) => j.id))}`;
          }),
        );
        throw new Error(
          `${what}: not so ${Date.now() - killedAt} ms after the kill; ${flowed.length} orders flowed (the current one for ` +
            `${Date.now() - iterationStarted} ms), failures: ${failures.join('; ') || 'none'}; cluster ${view?.state ?? 'unreachable'} ` +
            `${JSON.stringify(view?.nodes.map((n) => [n.port, n.role, n.failed, n.slots.length]))}; orders not settled: ` +
            `${JSON.stringify(unsettled)}; the tenant's events: ${JSON.stringify(events)}; queues: ${queues.join(', ')}`,
          { cause: err },
        );
      }
    };
    await cluster.kill(victim);
    h.gateway.pay(beforePre.attemptNo); // its notify arrives while the slot has no master
    // Orders created while the slot is down, whose timeout jobs may be lost: the sweep must close them.
    expiring = await Promise.all([createOrder(h, tenant), createOrder(h, tenant)]);
    await db().payOrder.updateMany({
      where: { payNo: { in: expiring.map((o) => o.payNo) } },
      data: { expireAt: new Date(Date.now() - 60_000) },
    });

    const promoted = await within(
      'a replica serves the slot',
      eventually(async () => {
        const view = await cluster.view(survivors);
        const owner = await cluster.masterOf(QUEUE_PREFIX, survivors).catch(() => undefined);
        return view?.state === 'ok' && owner !== undefined && owner !== victim && owner;
      }, 30_000),
    );
    const promotedAfterMs = Date.now() - killedAt;
    // The flow goes on after the failover (a bound for a stuck flow, generous for a busy machine).
    await within(
      'the flow goes on',
      eventually(() => Promise.resolve(flowed.length >= 3 + 5), 40_000),
    );
    flowing = false;
    await flow;

    for (const o of [before, ...flowed]) await within(`${o.payNo} is paid`, becomes(o, OrderStatus.ORDER_STATUS_SUCCESS, 30_000));
    for (const o of expiring) await within(`${o.payNo} is closed`, becomes(o, OrderStatus.ORDER_STATUS_CLOSED, 30_000));
    const sweptAfterMs = Date.now() - killedAt;
    await within(
      'every event delivered',
      eventually(() => allDelivered([before, ...flowed, ...expiring]), 40_000),
    );
    expect(await db().outboxEvent.count({ where: { tenantId: tenant, status: 'DEAD' } })).toBe(0); // other suites share the database
    await eventually(async () => (await readyz()) === 200);

    // The same process still serves every Redis use: a new order watched through the feed, prepaid, paid.
    const after = await createOrder(h, tenant);
    const seen: PayOrder[] = [];
    const watching = collect(client.watchOrder({ tenantId: tenant, payNo: after.payNo }, { deadlineMs: 20_000 }), seen);
    await eventually(() => Promise.resolve(seen.length === 1));
    const afterPre = await h.call('prepay', { order: ref(after), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.pay(afterPre.attemptNo);
    await watching;
    expect(seen.map((o) => o.status).at(-1)).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    await eventually(() => allDelivered([after]));

    console.log(
      `failover: master 127.0.0.1:${victim} killed, replica 127.0.0.1:${promoted} serving the slot after ${promotedAfterMs} ms; ` +
        `the orders that expired meanwhile closed by the sweep ${sweptAfterMs} ms after the kill; ` +
        `${flowed.length} orders flowed through it (slowest create + prepay ${slowestMs} ms), ${failures.length} calls failed${failures.length ? `: ${[...new Set(failures)].join('; ')}` : ''}`,
    );
    expect(failures).toEqual([]);
  });
});
