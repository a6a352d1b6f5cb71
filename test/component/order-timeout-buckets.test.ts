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
const { slotMs } = OrderTimeouts;
/** The end (epoch ms) of a slot that ends in one to two seconds from now: a whole second, so also a slot's end. */
const nextSlotEnd = () => (Math.ceil(Date.now() / 1000) + 1) * 1000;
/** The id of the job of the slot ending at `end`. */
const slotJob = (end: number) => OrderTimeouts.jobId(end / slotMs);

describe('order timeouts by expiry slot', () => {
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

  it('When orders fall due in the same slot, on any instance, then they share one delayed job', async () => {
    const end = (Math.ceil(Date.now() / 1000) + 600) * 1000;
    const offsets = [1, 250, slotMs - 1];
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all(offsets.map(async () => createOrder(h, tenant, { expireSeconds: 900 })));
    const before = (await queue.getDelayed()).length;
    const other = new OrderTimeouts(h.service.deps.queueProducerRedis, prefix); // a second instance, its own memory
    try {
      for (const [i, o] of orders.entries()) {
        const expireAt = new Date(end - offsets[i]);
        await h.service.deps.jobs.timeouts.schedule({ ...o, expireAt });
        await other.schedule({ ...o, expireAt });
      }
    } finally {
      await other.close();
    }
    const delayed = await queue.getDelayed();
    expect(delayed.length - before).toBe(1);
    const job = delayed.find((j) => j.id === slotJob(end))!;
    expect(job.data).toEqual({ after: end - slotMs, upTo: end });
    expect(job.timestamp + job.opts.delay!).toBe(end);
    await job.remove();
  });

  it('When an order falls due anywhere in a slot, then the job that closes it is due at most half a second after its expiry (the close has the rest of the 1 s goal)', async () => {
    const tenant = await newTenant(h, 'tmb');
    const order = await createOrder(h, tenant, { expireSeconds: 900 });
    const base = Math.ceil(Date.now() / 1000) * 1000 + 700_000; // a whole second, far enough ahead to be remembered
    const lateness: number[] = [];
    for (const offset of [1, 250, 499, 500, 501, 750, 999, 1000]) {
      const expireAt = base + offset;
      await h.service.deps.jobs.timeouts.schedule({ ...order, expireAt: new Date(expireAt) });
      const covering = (await queue.getDelayed()).filter(
        (j) => j.data.after !== undefined && j.data.after < expireAt && expireAt <= j.data.upTo,
      );
      expect(covering).toHaveLength(1);
      const due = covering[0].timestamp + covering[0].opts.delay!;
      expect(due).toBe(covering[0].data.upTo); // never before the range's last expiry
      lateness.push(due - expireAt);
    }
    expect(Math.max(...lateness)).toBeLessThanOrEqual(slotMs);
    expect(slotMs).toBeLessThanOrEqual(500);
    for (const j of await queue.getDelayed()) if (j.data.upTo > base && j.data.upTo <= base + 1000) await j.remove();
  });

  it('When a slot ends, then its one job closes every unpaid order due in it, none before its expiry', async () => {
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([0, 1, 2].map(() => createOrder(h, tenant)));
    const end = nextSlotEnd();
    for (const [i, o] of orders.entries()) await dueAt(h, o, new Date(end - 100 * (i + 1)));
    for (const o of orders) await eventually(isClosed(h, o));
    for (const o of orders) {
      const s = await state(h, o);
      expect(s.closedAt!.getTime()).toBeGreaterThanOrEqual(s.expireAt.getTime());
    }
    await eventually(async () => (await queue.getJob(slotJob(end))) === undefined); // removed once done
  });

  it('When an order falls due in a slot whose job already ran, then scheduling it runs a fresh job that closes it', async () => {
    const tenant = await newTenant(h, 'tmb');
    const [first, late] = await Promise.all([createOrder(h, tenant), createOrder(h, tenant)]);
    const end = nextSlotEnd();
    await dueAt(h, first, new Date(end - 400));
    await eventually(isClosed(h, first));
    await eventually(async () => (await queue.getJob(slotJob(end))) === undefined);
    // A CreateOrder whose clock is behind: its order's slot has passed and that slot's job is gone.
    await dueAt(h, late, new Date(end - 200));
    await eventually(isClosed(h, late));
  });

  it('When one order of a slot cannot be closed (its channel is down), then the others close and the job retries it', async () => {
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([0, 1, 2].map(() => createOrder(h, tenant)));
    const stuck = orders[1];
    await h.call('prepay', { order: ref(stuck), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'serverError' }, 1); // the stuck order's close is the only call to the channel
    const end = nextSlotEnd();
    for (const [i, o] of orders.entries()) await dueAt(h, o, new Date(end - 100 * (i + 1)));
    await eventually(isClosed(h, orders[0]));
    await eventually(isClosed(h, orders[2]));
    const job = await eventually(async () => {
      const j = await queue.getJob(slotJob(end));
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

  it('When a slot’s job fires before the slot ends (clock skew), then it waits and closes nothing early', async () => {
    const tenant = await newTenant(h, 'tmb');
    const order = await createOrder(h, tenant);
    const end = (Math.ceil(Date.now() / 1000) + 3) * 1000;
    const expireAt = new Date(end - 1);
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt } });
    // As added by an instance whose clock runs seconds ahead: due now.
    await queue.add('slot', { after: end - slotMs, upTo: end }, { jobId: slotJob(end), removeOnComplete: true });
    await eventually(async () => {
      const job = await queue.getJob(slotJob(end));
      return job?.processedOn !== undefined && (await job.isDelayed());
    });
    expect((await state(h, order)).status).toBe('WAIT_PAY');
    await eventually(isClosed(h, order));
    expect((await state(h, order)).closedAt!.getTime()).toBeGreaterThanOrEqual(expireAt.getTime());
  });

  it('When a whole second’s job from before the half-second slots is still queued, then it closes its second, none early', async () => {
    const tenant = await newTenant(h, 'tmb');
    const orders = await Promise.all([100, 900].map(() => createOrder(h, tenant)));
    const second = Math.ceil(Date.now() / 1000) + 2;
    const db = h.service.deps.db;
    // Both halves of the second, no slot job of their own: only the old job can close them.
    for (const [i, o] of orders.entries())
      await db.payOrder.update({ where: { payNo: o.payNo }, data: { expireAt: new Date(second * 1000 - [100, 900][i]) } });
    await queue.add(
      'second',
      { after: (second - 1) * 1000, upTo: second * 1000 },
      { jobId: `timeout-s${second}`, delay: 0, removeOnComplete: true }, // due now: it must wait for its second
    );
    for (const o of orders) await eventually(isClosed(h, o));
    for (const o of orders) {
      const s = await state(h, o);
      expect(s.closedAt!.getTime()).toBeGreaterThanOrEqual(second * 1000);
    }
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
