import { status } from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import { STATUS_SYNC_QUEUE } from '../../src/jobs/status-sync';
import { OrderStatus, PayWay, RefundStatus } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

const prefix = `{${uniq('sync')}}`;
let h: Harness;
let queue: Queue;
beforeAll(async () => {
  h = await startHarness({ QUEUE_PREFIX: prefix, STATUS_SYNC_DELAYS_MS: '1000,300,600' });
  TENANT = await newTenant(h, 't-sync');
  queue = new Queue(STATUS_SYNC_QUEUE, { connection: h.service.deps.queueRedis, prefix });
});
afterAll(async () => {
  await queue.close();
  await h.close();
});
afterEach(() => h.gateway.clearFaults());

let TENANT: string;
const prepay = (o: Parameters<typeof ref>[0]) =>
  h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });

describe('status sync', () => {
  it('When the channel times out on prepay, then the order stays PAYING and a status query is scheduled for the attempt', async () => {
    const order = await createOrder(h, TENANT);
    h.gateway.inject({ kind: 'hang', ms: 2700, on: 'POST /trades' }, 1); // just past CHANNEL_TIMEOUT_MS
    await grpcError(prepay(order), status.UNAVAILABLE);
    const [attempt] = await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo } });
    expect(attempt.status).toBe('CREATED');
    expect((await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status).toBe('PAYING');
    const job = await queue.getJob(`psync-${attempt.attemptNo}-0`);
    expect(job?.data).toEqual({ attemptNo: attempt.attemptNo, round: 0 });
  });

  it('When a payment notify is lost, then the status query Prepay scheduled finds the payment and applies it as SYNC', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    expect(await queue.getJob(`psync-${pre.attemptNo}-0`)).toBeDefined();
    h.gateway.inject({ kind: 'dropNotify' }, 10);
    h.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );
    const trail = await h.service.deps.db.orderTransition.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => [t.toStatus, t.cause])).toEqual([
      ['PAYING', 'RPC'],
      ['SUCCESS', 'SYNC'],
    ]);
  });

  it('When the buyer has not paid, then each round reschedules the next until the schedule is spent', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    const sync = h.service.deps.jobs.statusSync;
    const scheduled = jest.spyOn(sync, 'schedule'); // round 1's job is due 300 ms later and then gone: ask the call
    expect(await sync.run(h.service.deps, { attemptNo: pre.attemptNo, round: 0 })).toBe('pending: unchanged');
    expect(scheduled).toHaveBeenCalledWith(pre.attemptNo, 1);
    scheduled.mockRestore();
    await sync.run(h.service.deps, { attemptNo: pre.attemptNo, round: 2 }); // the last round (three delays)
    expect(await queue.getJob(`psync-${pre.attemptNo}-3`)).toBeUndefined();
    // Running a round again after the order closed asks the channel once more and changes nothing.
    await h.call('cancel', { order: ref(order), reason: '' });
    expect(await sync.run(h.service.deps, { attemptNo: pre.attemptNo, round: 0 })).toBe('fail: unchanged');
    expect((await h.call('query', { order: ref(order), sync: false })).order!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
  });

  it('When a refund stays pending and its notify is lost, then the scheduled refund query settles it', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    h.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );
    h.gateway.holdRefunds(true);
    try {
      const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 4000n, reason: '' });
      expect(refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
      expect(await queue.getJob(`rsync-${refund!.refundNo}-0`)).toBeDefined();
      h.gateway.inject({ kind: 'dropNotify' }, 10);
      h.gateway.settleRefund(refund!.refundNo, 'SUCCESS');
      await eventually(
        async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED,
      );
      const last = await h.service.deps.db.orderTransition.findFirst({ where: { payNo: order.payNo }, orderBy: { id: 'desc' } });
      expect([last?.toStatus, last?.cause]).toEqual(['PARTIAL_REFUNDED', 'SYNC']);
      // Running the refund round again changes nothing.
      expect(await h.service.deps.jobs.statusSync.runRefund(h.service.deps, { refundNo: refund!.refundNo, round: 0 })).toBe(
        'refund is SUCCESS',
      );
    } finally {
      h.gateway.holdRefunds(false);
    }
  });

  it("When a refund's send never reached the channel, then the refund sync sends it again and it settles", async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    h.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );
    // The refund call fails before the channel records anything (earlier tests' sync rounds query in the background).
    h.gateway.inject({ kind: 'serverError', on: 'POST /refunds' }, 1);
    const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 2500n, reason: '' });
    expect(refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
    expect(h.gateway.refundedTotal(pre.attemptNo)).toBe(0n); // the channel never heard of it
    await eventually(
      async () => (await h.call('query', { order: ref(order), sync: false })).order!.status === OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED,
    );
    expect(h.gateway.refundedTotal(pre.attemptNo)).toBe(2500n);
  });

  it('When nobody asked about an open attempt for the tail interval, then the sweep schedules one more query for it', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    await queue.remove(`psync-${pre.attemptNo}-0`); // its scheduled rounds were lost or are spent
    await h.service.deps.db.$executeRaw`UPDATE pay_attempt SET updated_at = NOW(3) - INTERVAL 2 HOUR WHERE attempt_no = ${pre.attemptNo}`;
    const sync = h.service.deps.jobs.statusSync;
    const report = await h.service.deps.jobs.sweeper.run(h.service.deps);
    expect(report.staleAttempts).toBeGreaterThanOrEqual(1);
    // The tail round (scheduled with no delay) asks once and stamps the attempt, so the next sweeps leave it
    // alone for another interval; it schedules nothing after itself.
    await eventually(
      async () =>
        (await h.service.deps.db.payAttempt.findUniqueOrThrow({ where: { attemptNo: pre.attemptNo } })).updatedAt >
        new Date(Date.now() - 60_000),
    );
    expect(await queue.getJob(`psync-${pre.attemptNo}-${sync.tailRound + 1}`)).toBeUndefined();
  });
});
