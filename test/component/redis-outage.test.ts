import { spawn, type ChildProcess } from 'node:child_process';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/** A Redis of this test's own, so it can be taken down without touching the other tests' one. */
async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await eventually(async () => {
    const res = await fetch(`http://127.0.0.1:${port}`).catch((e: { cause?: { code?: string } }) => e.cause?.code ?? 'x');
    return res !== 'ECONNREFUSED';
  });
  return proc;
}

const stop = (proc: ChildProcess) => new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve()) && proc.kill('SIGKILL')));

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
    await stop(redis);
  });

  it('When Redis goes down, then CreateOrder still answers at once, and once it is back the sweep closes the order at its expiry', async () => {
    await stop(redis);
    const started = Date.now();
    const order = await createOrder(h, await newTenant(h, 'toutage'));
    expect(Date.now() - started).toBeLessThan(2500); // not held until Redis returns (its timeout job is not scheduled)
    expect(order.status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);

    redis = await startRedis(port); // an empty Redis: every job and key is gone
    await eventually(async () => h.service.deps.queueProducerRedis.status === 'ready', 10000);
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt: new Date(Date.now() - 120_000) } });
    await h.service.deps.jobs.sweeper.run(h.service.deps);
    await eventually(async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_CLOSED, 10000);
  });
});
