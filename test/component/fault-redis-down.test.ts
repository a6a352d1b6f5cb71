import type { ChildProcess } from 'node:child_process';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { startRedis, stopRedis } from '../support/redis-process';
import { createOrder, orderRequest, ref } from '../support/orders';

/**
 * Issue 16, "orders created while Redis was down have no timeout job" and "outages are not fail-fast" (Redis):
 * Redis carries only jobs and hints, so while it is down the RPCs and notifies answer as fast as ever (no wait
 * on a reconnect), and what Redis should have held is rebuilt from the database once it is back.
 */
describe('While Redis is down', () => {
  /** Well under the 2.2 s the hand-run baseline measured, well over a Prepay on a loaded machine. */
  const DEADLINE_MS = 1500;
  let port: number;
  let redis: ChildProcess;
  let h: Harness;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    h = await startHarness({ REDIS_URL: `redis://127.0.0.1:${port}`, SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '200' });
  });
  afterAll(async () => {
    if (redis.exitCode !== null || redis.signalCode !== null) redis = await startRedis(port); // let the service close cleanly
    await h.close();
    await stopRedis(redis);
  });

  it('When Redis goes down, then CreateOrder, Prepay and a notify answer before a short deadline; once Redis is back (empty), the orders created meanwhile are closed at expiry', async () => {
    const tenant = await newTenant(h, 'tdown');
    const before = await createOrder(h, tenant, { amount: 2500n });
    const warn = jest.spyOn(h.service.deps.log, 'warn');
    const info = jest.spyOn(h.service.deps.log, 'info');
    // Not the first moments of the outage: ioredis's reconnect delay grows with each failed try (to 2 s), and a
    // command that waits for a reconnect waits that long (the baseline's Prepay: 2.2 s median).
    let reconnectDelayMs = 0;
    const grown = (ms: number) => (reconnectDelayMs = ms);
    h.service.deps.redis.on('reconnecting', grown);
    await stopRedis(redis);
    await eventually(async () => reconnectDelayMs >= 600);
    h.service.deps.redis.off('reconnecting', grown);
    expect(h.service.deps.queueProducerRedis.status).not.toBe('ready');
    // Not at once: a blip of Redis at the service's start, on a busy machine, holds the warning back up to 10 s.
    await eventually(async () => warn.mock.calls.some(([, msg]) => String(msg) === 'Redis is unreachable'));

    // Orders created meanwhile: their timeout job cannot be added; only the sweep will close them.
    const during: PayOrder[] = [];
    for (let i = 0; i < 3; i++) during.push((await h.call('createOrder', orderRequest(tenant), DEADLINE_MS)).order!);
    expect(during.map((o) => o.status)).toEqual(during.map(() => OrderStatus.ORDER_STATUS_WAIT_PAY));

    // Prepay: the "in flight" marker is a hint, so its absence costs nothing but the hint.
    const pre = await h.call('prepay', { order: ref(before), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' }, DEADLINE_MS);
    expect(pre.attemptNo).not.toBe('');

    // A genuine notify: the database receipt is the truth, Redis limits only unverifiable traffic.
    const res = await postMockNotify(h, tenant, mockPaymentNotify(h, pre.attemptNo), AbortSignal.timeout(DEADLINE_MS));
    expect(res.status).toBe(200);
    expect((await h.call('query', { order: ref(before), sync: false }, DEADLINE_MS)).order!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);

    // /readyz says so at once.
    const ready = await fetch(`${h.notifyBaseUrl}/readyz`, { signal: AbortSignal.timeout(DEADLINE_MS) });
    expect(ready.status).toBe(503);

    redis = await startRedis(port); // an empty Redis: every job, scheduler and key is gone
    await eventually(async () => h.service.deps.queueProducerRedis.status === 'ready');
    await eventually(async () => info.mock.calls.some(([, msg]) => String(msg) === 'Redis is reachable again'));
    warn.mockRestore();
    info.mockRestore();
    await h.service.deps.db.payOrder.updateMany({
      where: { payNo: { in: during.map((o) => o.payNo) } },
      data: { expireAt: new Date(Date.now() - 1000) },
    });
    // Nobody runs the sweep by hand: the instance's own schedule comes back and closes them.
    await eventually(async () => {
      const statuses = await Promise.all(during.map(async (o) => (await h.call('query', { order: ref(o), sync: false })).order!.status));
      return statuses.every((s) => s === OrderStatus.ORDER_STATUS_CLOSED);
    });
  });
});
