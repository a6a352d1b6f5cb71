import type { ChildProcess } from 'node:child_process';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, type Harness } from '../support/harness';
import { startRedis, stopRedis } from '../support/redis-process';
import { createOrder, ref } from '../support/orders';

describe('Redis outage', () => {
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
  });

  it('When Redis goes down, then CreateOrder still answers at once, and once it is back the sweep closes the order at its expiry', async () => {
    const tenant = await newTenant(h, 'toutage');
    await stopRedis(redis);
    await eventually(async () => h.service.deps.queueProducerRedis.status !== 'ready'); // the service has seen it go
    const warn = jest.spyOn(h.service.deps.log, 'warn');
    const order = await createOrder(h, tenant);
    expect(order.status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);
    // Redis is still down, so the answer did not wait for it to return. Nor did it wait out the scheduling
    // timeout: the add of its timeout job was refused at once (no offline queue), not abandoned after 2 s.
    const scheduling = warn.mock.calls.filter(([, msg]) => String(msg).startsWith('could not schedule the order timeout'));
    warn.mockRestore();
    expect(scheduling).toHaveLength(1);
    expect(String((scheduling[0][0] as { err: Error }).err.message)).toMatch(/enableOfflineQueue/);

    redis = await startRedis(port); // an empty Redis: every job and key is gone
    await eventually(async () => h.service.deps.queueProducerRedis.status === 'ready');
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt: new Date(Date.now() - 120_000) } });
    await h.service.deps.jobs.sweeper.run(h.service.deps);
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_CLOSED,
    );
  });
});
