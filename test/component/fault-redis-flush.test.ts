import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, type Harness } from '../support/harness';
import { startRedis, stopRedis } from '../support/redis-process';
import { createOrder, ref } from '../support/orders';

/**
 * Issue 16, "a Redis data loss stops every timeout": a FLUSHALL (a failover without persistence) takes the sweep's
 * job scheduler and every timeout job with it. The running instance must put its schedule back by itself, so
 * expired orders are closed without a restart.
 */
describe('Redis loses its data under pending timeouts', () => {
  let port: number;
  let redis: ChildProcess;
  let h: Harness;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    h = await startHarness({ REDIS_URL: `redis://127.0.0.1:${port}`, SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '200' });
  });
  afterAll(async () => {
    await h.close();
    await stopRedis(redis);
  });

  it('When Redis is flushed, then the sweep re-asserts its schedule and closes the expired orders (PAYING and WAIT_PAY) without a restart', async () => {
    const tenant = await newTenant(h, 'tflush');
    const waiting = await Promise.all([1, 2, 3].map(() => createOrder(h, tenant)));
    const paying = await Promise.all([1, 2, 3].map(() => createOrder(h, tenant)));
    for (const o of paying) await h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });

    const warn = jest.spyOn(h.service.deps.log, 'warn');
    const admin = new Redis(`redis://127.0.0.1:${port}`);
    try {
      await admin.flushall();
      expect(await admin.keys('*')).toEqual([]); // the sweep's scheduler and every timeout job are gone
    } finally {
      admin.disconnect();
    }
    const flushed = Date.now();
    const all = [...waiting, ...paying];
    await h.service.deps.db.payOrder.updateMany({
      where: { payNo: { in: all.map((o) => o.payNo) } },
      data: { expireAt: new Date(Date.now() - 60_000) },
    });

    // Nobody calls the sweep here: the instance's own schedule must come back and run it.
    await eventually(async () => {
      const statuses = await Promise.all(all.map(async (o) => (await h.call('query', { order: ref(o), sync: false })).order!.status));
      return statuses.every((s) => s === OrderStatus.ORDER_STATUS_CLOSED);
    });
    expect(warn.mock.calls.some(([, msg]) => String(msg).startsWith('the sweep schedule was gone from Redis'))).toBe(true);
    warn.mockRestore();
    // Bound: the next re-assertion (one SWEEP_INTERVAL_MS), the sweep it runs at once, the backlog job's closes.
    console.log(`closed ${all.length} expired orders ${Date.now() - flushed} ms after the flush`);
  });
});
