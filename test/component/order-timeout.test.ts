import { Queue } from 'bullmq';
import { QUEUE } from '../../src/jobs/queues';
import { OrderTimeouts } from '../../src/jobs/order-timeout';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

const prefix = `{${uniq('tmo')}}`;
let h: Harness;
let timeoutQueue: Queue;
beforeAll(async () => {
  h = await startHarness({ QUEUE_PREFIX: prefix, SWEEP_GRACE_MS: '1000' });
  timeoutQueue = new Queue(QUEUE.orderTimeout, { connection: h.service.deps.queueRedis, prefix });
});
afterAll(async () => {
  await timeoutQueue.close();
  await h.close();
});
afterEach(() => h.gateway.clearFaults());

const db = () => h.service.deps.db;
const prepay = (o: PayOrder) => h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
/** Moves the order's expiry into the past, as if its time ran out `agoMs` ago. */
const expire = (o: PayOrder, agoMs = 0) =>
  db().payOrder.update({ where: { payNo: o.payNo }, data: { expireAt: new Date(Date.now() - agoMs) } });
const trail = async (o: PayOrder) =>
  (await db().orderTransition.findMany({ where: { payNo: o.payNo }, orderBy: { id: 'asc' } })).map((t) => [t.toStatus, t.cause]);
const eventTypes = async (o: PayOrder) =>
  (await db().outboxEvent.findMany({ where: { payNo: o.payNo }, orderBy: { orderVersion: 'asc' } })).map((e) => e.type);

describe('order timeout', () => {
  it('When CreateOrder succeeds, then the job of its expiry slot is due at the end of that slot', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo'), { expireSeconds: 600 });
    const slot = OrderTimeouts.slotOf(order.expireTime!);
    const end = slot * OrderTimeouts.slotMs;
    const job = await timeoutQueue.getJob(OrderTimeouts.jobId(slot));
    expect(job?.name).toBe('slot');
    expect(job?.data).toEqual({ after: end - OrderTimeouts.slotMs, upTo: end });
    expect(job!.timestamp + job!.opts.delay!).toBeGreaterThanOrEqual(end - 50);
    expect(job!.timestamp + job!.opts.delay!).toBeLessThanOrEqual(end + 50);
    expect(await job!.isDelayed()).toBe(true);
  });

  it('When an unpaid order times out, then it is closed at the channel and locally with cause TIMEOUT and ORDER_CLOSED goes out', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo'));
    const pre = await prepay(order);
    const expireAt = new Date(Date.now());
    await db().payOrder.update({ where: { payNo: order.payNo }, data: { expireAt } });
    await h.service.deps.jobs.timeouts.schedule({ ...order, expireAt }); // its time has come: this slot's job
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_CLOSED);
    expect(h.gateway.trade(pre.attemptNo)?.status).toBe('CLOSED');
    expect(await trail(order)).toEqual([
      ['PAYING', 'RPC'],
      ['CLOSED', 'TIMEOUT'],
    ]);
    expect(await eventTypes(order)).toEqual(['ORDER_CLOSED']);
    expect((await db().payAttempt.findUniqueOrThrow({ where: { attemptNo: pre.attemptNo } })).status).toBe('CLOSED');
  });

  it('When the buyer paid but the notify was lost, then the timeout finds the payment and the order is paid, not closed', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo'));
    const pre = await prepay(order);
    h.gateway.inject({ kind: 'dropNotify' }, 100);
    h.gateway.pay(pre.attemptNo);
    await expire(order);
    const result = await h.service.deps.jobs.timeouts.run(h.service.deps, { tenantId: order.tenantId, payNo: order.payNo });
    expect(result).toEqual({ kind: 'done', status: 'SUCCESS' });
    expect(await trail(order)).toEqual([
      ['PAYING', 'RPC'],
      ['SUCCESS', 'TIMEOUT'],
    ]);
    expect(await eventTypes(order)).toEqual(['PAYMENT_SUCCEEDED']);
  });

  it('When the timeout job runs twice (or once more after the order closed), then the end state is the same', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo')); // never prepaid: closes without asking any channel
    await expire(order);
    const timeouts = h.service.deps.jobs.timeouts;
    const job = { tenantId: order.tenantId, payNo: order.payNo };
    const [a, b] = await Promise.all([timeouts.run(h.service.deps, job), timeouts.run(h.service.deps, job)]);
    expect([a, b]).toEqual([
      { kind: 'done', status: 'CLOSED' },
      { kind: 'done', status: 'CLOSED' },
    ]);
    expect(await timeouts.run(h.service.deps, job)).toEqual({ kind: 'done', status: 'CLOSED' });
    expect(await trail(order)).toEqual([['CLOSED', 'TIMEOUT']]);
    expect(await eventTypes(order)).toEqual(['ORDER_CLOSED']);
  });

  it('When a timeout fires before the expiry (clock skew), then the order stays payable', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo'), { expireSeconds: 600 });
    const result = await h.service.deps.jobs.timeouts.run(h.service.deps, { tenantId: order.tenantId, payNo: order.payNo });
    expect(result).toEqual({ kind: 'not-due', dueAt: order.expireTime });
    expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_WAIT_PAY);
  });

  it('When timeouts race payments on many orders, then each order ends in exactly one final state with one matching event', async () => {
    const orders = await Promise.all(Array.from({ length: 8 }, async () => createOrder(h, await newTenant(h, 'trace'))));
    const attempts = await Promise.all(orders.map(prepay));
    await Promise.all(orders.map((o) => expire(o)));
    const timeouts = h.service.deps.jobs.timeouts;
    await Promise.all(
      orders.flatMap((o, i) => [
        timeouts.run(h.service.deps, { tenantId: o.tenantId, payNo: o.payNo }).catch(() => undefined),
        (async () => {
          await new Promise((r) => setTimeout(r, i * 3));
          try {
            h.gateway.pay(attempts[i].attemptNo); // refused by the gateway once the close got there first
          } catch {
            /* trade closed */
          }
        })(),
      ]),
    );
    for (const o of orders) {
      const final = await eventually(async () => {
        const s = (await statusOf(o)).status;
        return (s === OrderStatus.ORDER_STATUS_SUCCESS || s === OrderStatus.ORDER_STATUS_CLOSED) && s;
      });
      const paidAtChannel = h.gateway.trade(attempts.find((a) => a.order!.payNo === o.payNo)!.attemptNo)?.status === 'SUCCESS';
      expect(final === OrderStatus.ORDER_STATUS_SUCCESS).toBe(paidAtChannel);
      await eventually(async () => (await eventTypes(o)).length === 1);
      expect(await eventTypes(o)).toEqual([paidAtChannel ? 'PAYMENT_SUCCEEDED' : 'ORDER_CLOSED']);
    }
  });

  it('When the channel cannot be reached at the timeout, then the order stays open and the job fails to be retried', async () => {
    const order = await createOrder(h, await newTenant(h, 'ttmo'));
    await prepay(order);
    await expire(order);
    h.gateway.inject({ kind: 'serverError' }, 1);
    await expect(h.service.deps.jobs.timeouts.run(h.service.deps, { tenantId: order.tenantId, payNo: order.payNo })).rejects.toThrow(
      'could not close',
    );
    expect((await statusOf(order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
    expect(await h.service.deps.jobs.timeouts.run(h.service.deps, { tenantId: order.tenantId, payNo: order.payNo })).toEqual({
      kind: 'done',
      status: 'CLOSED',
    });
  });
});

describe('sweeper', () => {
  it('When an order timeout job is lost, then the sweep finds the overdue order and it is closed', async () => {
    const order = await createOrder(h, await newTenant(h, 'tswp'));
    await prepay(order);
    await expire(order, 5000); // past the 1 s grace, and no job of its new second: as if Redis lost it
    const report = await h.service.deps.jobs.sweeper.run(h.service.deps);
    expect(report.overdueOrders).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_CLOSED);
    expect(await trail(order)).toEqual([
      ['PAYING', 'RPC'],
      ['CLOSED', 'TIMEOUT'],
    ]);
    // A second sweep finds nothing more to do for it.
    await h.service.deps.jobs.sweeper.run(h.service.deps);
    expect(await eventTypes(order)).toEqual(['ORDER_CLOSED']);
  });

  it('When the service starts, then the sweep is a repeatable job scheduled once however many instances run', async () => {
    const second = await startHarness({ QUEUE_PREFIX: prefix }, { gateway: h.gateway, gatewayUrl: h.gatewayUrl });
    try {
      const maintenance = new Queue(QUEUE.maintenance, { connection: h.service.deps.queueRedis, prefix });
      const schedulers = await maintenance.getJobSchedulers();
      expect(schedulers.map((s) => [s.key, s.every])).toEqual([['sweep', 60000]]);
      await maintenance.close();
    } finally {
      await second.close();
    }
  });

  it('When a paid-after-close refund never started (a crash), then the sweep starts it', async () => {
    const order = await createOrder(h, await newTenant(h, 'tpac'));
    const pre = await prepay(order);
    h.gateway.inject({ kind: 'dropNotify' }, 100);
    h.gateway.pay(pre.attemptNo);
    // The order closed locally and then learned of the payment, but the process died before refunding it.
    await db().$executeRaw`UPDATE pay_order SET status = 'PAID_AFTER_CLOSE', paid_at = NOW(3), channel_trade_no = ${
      h.gateway.trade(pre.attemptNo)!.trade_no
    }, updated_at = NOW(3) - INTERVAL 5 SECOND WHERE pay_no = ${order.payNo}`;
    await db().$executeRaw`UPDATE pay_attempt SET status = 'SUCCESS' WHERE attempt_no = ${pre.attemptNo}`;
    const report = await h.service.deps.jobs.sweeper.run(h.service.deps);
    expect(report.paidAfterClose).toBeGreaterThanOrEqual(1);
    // The sweep only enqueues the refund; its own job makes it.
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_REFUNDED);
    expect(h.gateway.refundedTotal(pre.attemptNo)).toBe(order.amount);
    expect(
      (await h.call('queryRefund', { tenantId: order.tenantId, outRefundNo: `AUTO-${order.payNo}`, sync: false })).refund!.amount,
    ).toBe(order.amount);
    expect(await eventTypes(order)).toContain('REFUND_SUCCEEDED');
  });
});
