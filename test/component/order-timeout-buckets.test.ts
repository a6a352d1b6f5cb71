import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { createRedis } from '../../src/infra/redis';
import { expireDueOrders } from '../../src/app/expire-order';
import { QUEUE } from '../../src/jobs/queues';
import { OrderTimeouts } from '../../src/jobs/order-timeout';
import { PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, freePort, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { startRedis, stopRedis } from '../support/redis-process';
import { createOrder, ref } from '../support/orders';

/** The order's status and its CLOSED transition's time, read from the database. */
async function state(h: Harness, o: PayOrder): Promise<{ status: string; closedAt?: Date; expireAt: Date }> {
  const db = h.service.deps.db;
  const row = await db.payOrder.findUniqueOrThrow({ where: { payNo: o.payNo } });
  const closed = await db.orderTransition.findFirst({ where: { payNo: o.payNo, toStatus: 'CLOSED' } });
  return { status: row.status, closedAt: closed?.createdAt, expireAt: row.expireAt };
}

/** Gives the order a new expiry and schedules it, as CreateOrder would have with that expiry. */
async function dueAt(h: Harness, o: PayOrder, expireAt: Date): Promise<void> {
  await h.service.deps.db.payOrder.update({ where: { payNo: o.payNo }, data: { expireAt } });
  await h.service.deps.jobs.timeouts.schedule({ tenantId: o.tenantId, payNo: o.payNo, expireAt });
}

const isClosed = (h: Harness, o: PayOrder) => async () => (await state(h, o)).status === 'CLOSED';
/** A second that ends in one to two seconds from now. */
const nextSecond = () => Math.ceil(Date.now() / 1000) + 1;

describe('order timeouts by expiry second', () => {
  const prefix = `{${uniq('tmb')}}`;
  let h: Harness;
  let queue: Queue;
  beforeAll(async () => {
    h = await startHarness({ QUEUE_PREFIX: prefix });
    queue = new Queue(QUEUE.orderTimeout, { connection: h.service.deps.queueRedis, prefix });
  });
  afterAll(async () => {
    await queue.close();
    await h.close();
  });
  afterEach(() => h.gateway.clearFaults());

  it('When orders fall due in the same second, on any instance, then they share one delayed job', async () => {
    const second = Math.ceil(Date.now() / 1000) + 600;
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([1, 300, 999].map(async () => createOrder(h, tenant, { expireSeconds: 900 })));
    const before = (await queue.getDelayed()).length;
    const other = new OrderTimeouts(h.service.deps.queueProducerRedis, prefix); // a second instance, its own memory
    try {
      for (const [i, o] of orders.entries()) {
        const expireAt = new Date(second * 1000 - [1, 300, 999][i]);
        await h.service.deps.jobs.timeouts.schedule({ ...o, expireAt });
        await other.schedule({ ...o, expireAt });
      }
    } finally {
      await other.close();
    }
    const delayed = await queue.getDelayed();
    expect(delayed.length - before).toBe(1);
    const job = delayed.find((j) => j.id === OrderTimeouts.jobId(second))!;
    expect(job.data).toEqual({ after: (second - 1) * 1000, upTo: second * 1000 });
    expect(job.timestamp + job.opts.delay!).toBe(second * 1000);
    await job.remove();
  });

  it('When a second ends, then its one job closes every unpaid order due in it, none before its expiry', async () => {
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([0, 1, 2].map(() => createOrder(h, tenant)));
    const second = nextSecond();
    for (const [i, o] of orders.entries()) await dueAt(h, o, new Date(second * 1000 - 100 * (i + 1)));
    for (const o of orders) await eventually(isClosed(h, o));
    for (const o of orders) {
      const s = await state(h, o);
      expect(s.closedAt!.getTime()).toBeGreaterThanOrEqual(s.expireAt.getTime());
    }
    await eventually(async () => (await queue.getJob(OrderTimeouts.jobId(second))) === undefined); // removed once done
  });

  it('When an order falls due in a second whose job already ran, then scheduling it runs a fresh job that closes it', async () => {
    const tenant = await newTenant(h, 'tmb');
    const [first, late] = await Promise.all([createOrder(h, tenant), createOrder(h, tenant)]);
    const second = nextSecond();
    await dueAt(h, first, new Date(second * 1000 - 500));
    await eventually(isClosed(h, first));
    await eventually(async () => (await queue.getJob(OrderTimeouts.jobId(second))) === undefined);
    // A CreateOrder whose clock is behind: its order's second has passed and that second's job is gone.
    await dueAt(h, late, new Date(second * 1000 - 200));
    await eventually(isClosed(h, late));
  });

  it('When one order of a second cannot be closed (its channel is down), then the others close and the job retries it', async () => {
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([0, 1, 2].map(() => createOrder(h, tenant)));
    const stuck = orders[1];
    await h.call('prepay', { order: ref(stuck), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'serverError' }, 1); // the stuck order's close is the only call to the channel
    const second = nextSecond();
    for (const [i, o] of orders.entries()) await dueAt(h, o, new Date(second * 1000 - 100 * (i + 1)));
    await eventually(isClosed(h, orders[0]));
    await eventually(isClosed(h, orders[2]));
    const job = await eventually(async () => {
      const j = await queue.getJob(OrderTimeouts.jobId(second));
      return j && j.attemptsMade === 1 && (await j.isDelayed()) && j; // failed once, waiting out its backoff
    });
    expect(job.failedReason).toMatch(/^1 orders due by .* could not be closed$/);
    expect((await state(h, stuck)).status).toBe('PAYING');
    await job.promote(); // the retry, without waiting out the backoff
    await eventually(isClosed(h, stuck));
  });

  it('When a per-order timeout job from before the upgrade is still queued, then it still closes its order', async () => {
    const order = await createOrder(h, await newTenant(h, 'tmb'));
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt: new Date(Date.now() - 10) } });
    await queue.add(
      'timeout',
      { tenantId: order.tenantId, payNo: order.payNo },
      { jobId: `timeout-${order.payNo}`, removeOnComplete: true },
    );
    await eventually(isClosed(h, order));
  });

  it('When a batch covers orders not yet expired, then only the expired ones are closed', async () => {
    const tenant = await newTenant(h, 'tmb');
    const [expired, live] = await Promise.all([createOrder(h, tenant), createOrder(h, tenant)]);
    const db = h.service.deps.db;
    await db.payOrder.update({ where: { payNo: expired.payNo }, data: { expireAt: new Date(Date.now() - 10) } });
    const liveAt = new Date(Date.now() + 60_000);
    await db.payOrder.update({ where: { payNo: live.payNo }, data: { expireAt: liveAt } });
    const report = await expireDueOrders(
      h.service.deps,
      { after: new Date(Date.now() - 1000), upTo: new Date(Date.now() + 120_000) },
      { batch: 10, parallel: 2, budgetMs: 10_000 },
    );
    expect(report).toEqual({ done: 1, failed: 0 });
    expect((await state(h, expired)).status).toBe('CLOSED');
    expect((await state(h, live)).status).toBe('WAIT_PAY');
  });

  it('When a second’s job fires before the second ends (clock skew), then it waits and closes nothing early', async () => {
    const tenant = await newTenant(h, 'tmb');
    const order = await createOrder(h, tenant);
    const second = Math.ceil(Date.now() / 1000) + 3;
    const expireAt = new Date(second * 1000 - 1);
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt } });
    // As added by an instance whose clock runs seconds ahead: due now.
    await queue.add(
      'second',
      { after: (second - 1) * 1000, upTo: second * 1000 },
      { jobId: OrderTimeouts.jobId(second), removeOnComplete: true },
    );
    await eventually(async () => {
      const job = await queue.getJob(OrderTimeouts.jobId(second));
      return job?.processedOn !== undefined && (await job.isDelayed());
    });
    expect((await state(h, order)).status).toBe('WAIT_PAY');
    await eventually(isClosed(h, order));
    expect((await state(h, order)).closedAt!.getTime()).toBeGreaterThanOrEqual(expireAt.getTime());
  });
});

describe('order timeouts after a Redis loss', () => {
  let port: number;
  let redis: ChildProcess;
  let h: Harness;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    // Small batches and steps, so the backlog job goes through several batches and resumes from its cursor.
    h = await startHarness({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      SWEEP_GRACE_MS: '1000',
      TIMEOUT_BATCH_SIZE: '4',
      TIMEOUT_STEP_MS: '100',
    });
  });
  afterAll(async () => {
    await h.close();
    await stopRedis(redis);
  });

  it('When Redis is flushed, then the sweep hands the overdue orders to one backlog job that closes them all', async () => {
    const tenant = await newTenant(h, 'tmbf');
    const orders = await Promise.all(Array.from({ length: 20 }, () => createOrder(h, tenant)));
    const live = await createOrder(h, tenant); // not yet due: stays open
    const client = createRedis(`redis://127.0.0.1:${port}`);
    try {
      await client.flushall();
      expect(await h.service.deps.jobs.timeouts.queue.getDelayedCount()).toBe(0); // every timeout job is gone
    } finally {
      client.disconnect();
    }
    await h.service.deps.db.payOrder.updateMany({
      where: { payNo: { in: orders.map((o) => o.payNo) } },
      data: { expireAt: new Date(Date.now() - 5000) },
    });
    // The sweep counts every tenant's overdue orders: other suites' leftovers in the shared database may add to ours.
    const report = await h.service.deps.jobs.sweeper.run(h.service.deps);
    expect(report.overdueOrders).toBeGreaterThanOrEqual(20);
    await eventually(async () => (await Promise.all(orders.map((o) => state(h, o)))).every((s) => s.status === 'CLOSED'));
    expect((await state(h, live)).status).toBe('WAIT_PAY');
    const overdue = {
      tenantId: tenant,
      status: { in: ['WAIT_PAY' as const, 'PAYING' as const] },
      expireAt: { lt: new Date(Date.now() - 1000) },
    };
    expect(await h.service.deps.db.payOrder.count({ where: overdue })).toBe(0); // none of ours is left for a sweep
  });
});
