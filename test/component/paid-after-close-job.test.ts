import { Queue } from 'bullmq';
import { OrderStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { AutomaticRefunds } from '../../src/jobs/automatic-refunds';
import { QUEUE } from '../../src/jobs/queues';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { paidAfterCancel as paidAfterCancelAt, ref } from '../support/orders';

/** The status query a close schedules runs at once too: a third path racing to the same payment. */
const SYNC_SOON = '150,300,600';
const prefix = `{${uniq('pac')}}`;

let h: Harness;
let ali: AlipayTenant;
let queue: Queue;

beforeAll(async () => {
  h = await startHarness({
    PAID_AFTER_CLOSE_POLICY: 'refund',
    STATUS_SYNC_DELAYS_MS: SYNC_SOON,
    QUEUE_PREFIX: prefix,
    SWEEP_GRACE_MS: '1000',
  });
  ali = await alipayTenant(h, await newTenant(h, 't-pacjob'));
  queue = new Queue(QUEUE.automaticRefunds, { connection: h.service.deps.queueRedis, prefix });
});
afterAll(async () => {
  await queue.close();
  await ali.close();
  await h.close();
});

const paidAfterCancel = () => paidAfterCancelAt(h, ali, 4100n);

const statusOf = async (order: PayOrder) => (await h.call('query', { order: ref(order), sync: false })).order!;
const refundsOf = (order: PayOrder) => h.service.deps.db.refund.findMany({ where: { payNo: order.payNo } });
const eventTypes = async (order: PayOrder) =>
  (await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo }, orderBy: { orderVersion: 'asc' } })).map((e) => e.type);

describe('the paid-after-close refund job', () => {
  it('When a notify and Query syncs race for the same paid-after-close attempt, then one job is queued and the policy refund happens exactly once', async () => {
    await queue.pause(); // hold the job, to see what the racing paths enqueued
    const { order, attemptNo } = await paidAfterCancel();
    try {
      // The notify (sent as the buyer pays), three Query syncs and the status sync the close scheduled all race.
      const syncs = await Promise.allSettled([1, 2, 3].map(() => h.call('query', { order: ref(order), sync: true })));
      expect(syncs.filter((s) => s.status === 'rejected')).toEqual([]);
      await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_PAID_AFTER_CLOSE);
      const notified = await eventually(async () => {
        const { notifies } = await h.call('listNotifies', { pageSize: 0, pageToken: '', order: ref(order) });
        return notifies.some((n) => n.signatureValid) && notifies;
      });
      expect(notified.length).toBeGreaterThanOrEqual(1);
      await h.call('query', { order: ref(order), sync: true }); // once more, now certainly after the payment was applied

      expect(await queue.count()).toBe(1);
      expect(await queue.getJob(AutomaticRefunds.jobId(order))).toBeDefined();
      expect(await refundsOf(order)).toEqual([]); // nothing refunded inline
    } finally {
      await queue.resume();
    }
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_REFUNDED);
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.amount, r.status])).toEqual([[`AUTO-${order.payNo}`, 4100n, 'SUCCESS']]);
    expect(ali.sandbox.refundedTotal(attemptNo)).toBe(4100n);
    expect((await eventTypes(order)).filter((t) => t === 'REFUND_SUCCEEDED')).toHaveLength(1);
  });

  it('When the job runs again after the refund (a duplicate, a late Query sync), then it changes nothing', async () => {
    const { order, attemptNo } = await paidAfterCancel();
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_REFUNDED);
    await h.call('query', { order: ref(order), sync: true });
    const again = await h.service.deps.jobs.automaticRefunds.run(h.service.deps, { tenantId: order.tenantId, payNo: order.payNo });
    expect(again).toBe('order is REFUNDED');

    const refunds = await refundsOf(order);
    expect(refunds.map((r) => [r.outRefundNo, r.amount, r.status, r.requestedBy])).toEqual([
      [`AUTO-${order.payNo}`, 4100n, 'SUCCESS', 'system:paid-after-close'],
    ]);
    expect(ali.sandbox.refundedTotal(attemptNo)).toBe(4100n);
    expect((await eventTypes(order)).filter((t) => t === 'REFUND_SUCCEEDED')).toHaveLength(1);
  });

  it('When enqueueing the refund fails (Redis lost it), then the sweep enqueues it again and the order is still refunded once', async () => {
    const deps = h.service.deps;
    const working = deps.automaticRefunds;
    deps.automaticRefunds = { schedule: () => Promise.reject(new Error('Redis is gone')) };
    let order: PayOrder;
    let attemptNo: string;
    try {
      ({ order, attemptNo } = await paidAfterCancel());
      await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_PAID_AFTER_CLOSE);
      await h.call('query', { order: ref(order), sync: true }); // its enqueue fails too
    } finally {
      deps.automaticRefunds = working;
    }
    expect(await refundsOf(order)).toEqual([]);
    expect(await queue.getJob(AutomaticRefunds.jobId(order))).toBeUndefined();

    await deps.db.$executeRaw`UPDATE pay_order SET updated_at = NOW(3) - INTERVAL 5 SECOND WHERE pay_no = ${order.payNo}`;
    const report = await deps.jobs.sweeper.run(deps);
    expect(report.paidAfterClose).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await statusOf(order)).status === OrderStatus.ORDER_STATUS_REFUNDED);
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([[`AUTO-${order.payNo}`, 'SUCCESS']]);
    expect(ali.sandbox.refundedTotal(attemptNo)).toBe(4100n);
  });
});
