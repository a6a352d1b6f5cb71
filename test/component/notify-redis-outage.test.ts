import type { ChildProcess } from 'node:child_process';
import { PayWay } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { startRedis, stopRedis } from '../support/redis-process';
import { createOrder, ref } from '../support/orders';

/** Redis only carries hints for notifies (dedupe, limits): its outage must never cost a genuine notify. */

describe('notifies while Redis is down', () => {
  let port: number;
  let redis: ChildProcess;
  let h: Harness;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    h = await startHarness({ REDIS_URL: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    if (redis.exitCode !== null) redis = await startRedis(port); // let the service close cleanly
    await h.close();
    await stopRedis(redis);
  }, 60_000);

  it('When Redis is down, then a genuine notify is still applied once, and its retry is still a duplicate', async () => {
    const tenant = await newTenant(h, 't-nro');
    const order = await createOrder(h, tenant, { amount: 2500n });
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    await stopRedis(redis);

    const body = mockPaymentNotify(h, pre.attemptNo);
    const post = () => postMockNotify(h, tenant, body);
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(200);
    const db = h.service.deps.db;
    expect((await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status).toBe('SUCCESS');
    const results = (await db.notifyRecord.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } })).map((r) => r.result);
    expect(results).toEqual(['PROCESSED', 'DUPLICATE']);

    redis = await startRedis(port); // back before the service stops, so its queues close cleanly
    await eventually(async () => h.service.deps.queueProducerRedis.status === 'ready', 15000);
  });
});
