import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, orderRow, prepayOn, ref } from '../support/orders';
import { decodeStatus } from '../support/status-details';
import { findDuplicateRefundsToRetry } from '../../src/repo/sweeps';

/**
 * Four tries of an automatic refund, as by default (other test files share this database, and their sweeps must
 * count the tries these tests give up after the same way): the first, then three more 100–300 ms after a failure.
 */
const RETRY_DELAYS = '100,200,300';

let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness({ AUTOMATIC_REFUND_RETRY_DELAYS_MS: RETRY_DELAYS, SWEEP_GRACE_MS: '1000' });
  tenant = await newTenant(h, 't-dup');
});
afterAll(() => h.close());
afterEach(() => {
  h.gateway.clearFaults();
  h.service.deps.duplicatePayment = 'refund';
});

const AMOUNT = 2600n;

/**
 * The buyer's double payment, the way a buyer makes it: Prepay on MOCK, then a pay-way switch to MOCK_QR (which
 * closes the first trade at the gateway); the buyer pays the QR trade, then pays the first one anyway (the
 * gateway takes a payment of a closed trade once). Resolves once the order is paid by the second attempt.
 */
async function paidTwice(payer = tenant): Promise<{ order: PayOrder; first: string; second: string }> {
  const order = await createOrder(h, payer, { amount: AMOUNT });
  const first = (await prepayOn(h, order, PayWay.PAY_WAY_MOCK)).attemptNo;
  const second = (await prepayOn(h, order, PayWay.PAY_WAY_MOCK_QR)).attemptNo;
  expect(h.gateway.trade(first)?.status).toBe('CLOSED');
  h.gateway.pay(second);
  await eventually(async () => (await orderRow(h, order)).status === 'SUCCESS');
  h.gateway.inject({ kind: 'successAfterClose' }, 1);
  h.gateway.pay(first);
  expect(h.gateway.trade(first)?.status).toBe('SUCCESS');
  return { order, first, second };
}

const eventTypes = async (order: PayOrder) =>
  (await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo }, orderBy: { orderVersion: 'asc' } })).map((e) => e.type);
const refundsOf = async (order: PayOrder) =>
  (await h.service.deps.db.refund.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } })).map((r) => ({
    outRefundNo: r.outRefundNo,
    attemptNo: r.attemptNo,
    amount: r.amount,
    status: r.status,
    requestedBy: r.requestedBy,
  }));
const eventsInclude = (order: PayOrder, type: string) => eventually(async () => (await eventTypes(order)).includes(type));
const metricsText = async () => (await fetch(`${h.notifyBaseUrl}/metrics`)).text();
const failedMetric = (text: string, kind: string) =>
  Number(new RegExp(`paysvc_automatic_refund_failed_total\\{kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? 0);

describe('a duplicate payment', () => {
  it('When pay ways charge a fee, then the duplicate refund returns the duplicate attempt its own fee, and the order keeps its fee facts', async () => {
    const charged = await newTenant(h, 't-dupfee');
    for (const payWay of [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR]) {
      const rule = { tenantId: charged, payWay, expectedVersion: 0n, enabled: undefined, displayOrder: undefined };
      await h.call('updatePayWay', { ...rule, feeRule: { rateBps: payWay === PayWay.PAY_WAY_MOCK ? 100 : 60, minFee: 0n } });
    }
    const { order, first, second } = await paidTwice(charged);
    await eventsInclude(order, 'DUPLICATE_PAYMENT_REFUNDED');
    const db = h.service.deps.db;
    const attempt = async (attemptNo: string) => db.payAttempt.findUniqueOrThrow({ where: { attemptNo } });
    // 2600 fen at 1 % (MOCK, the duplicate) and 0.6 % (MOCK_QR, the order's payment).
    expect([(await attempt(first)).fee, (await attempt(second)).fee]).toEqual([26n, 16n]);
    const dup = await db.refund.findFirstOrThrow({ where: { payNo: order.payNo, duplicate: true } });
    expect([dup.status, dup.amount, dup.fee]).toEqual(['SUCCESS', AMOUNT, 26n]);
    const row = await orderRow(h, order);
    expect([row.status, row.fee, row.netAmount, row.refundedAmount, row.refundedFee]).toEqual(['SUCCESS', 16n, 2584n, 0n, 0n]);
  });

  it('When a buyer pays both attempts of a switched order, then the duplicate attempt is refunded once at its channel and the events say so', async () => {
    const { order, first, second } = await paidTwice();
    await eventsInclude(order, 'DUPLICATE_PAYMENT_REFUNDED');

    expect(await refundsOf(order)).toEqual([
      { outRefundNo: `DUP-${first}`, attemptNo: first, amount: AMOUNT, status: 'SUCCESS', requestedBy: 'system:duplicate-payment' },
    ]);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
    expect(h.gateway.refundedTotal(second)).toBe(0n);
    expect(await eventTypes(order)).toEqual(['PAYMENT_SUCCEEDED', 'DUPLICATE_PAYMENT', 'DUPLICATE_PAYMENT_REFUNDED']);
    const refunded = await h.service.deps.db.outboxEvent.findFirstOrThrow({
      where: { payNo: order.payNo, type: 'DUPLICATE_PAYMENT_REFUNDED' },
    });
    expect(refunded.payload).not.toHaveProperty('refundedAmount'); // 0: proto3 JSON leaves it out
    expect(refunded.payload).toMatchObject({
      status: 'ORDER_STATUS_SUCCESS',
      payWay: 'PAY_WAY_MOCK',
      channelTradeNo: h.gateway.trade(first)!.trade_no,
      refund: { outRefundNo: `DUP-${first}`, attemptNo: first, duplicate: true, status: 'REFUND_STATUS_SUCCESS' },
    });

    // The order's own payment is untouched and still refundable in full, at its own trade.
    const { order: after } = await h.call('query', { order: ref(order), sync: false });
    expect(after).toMatchObject({ status: OrderStatus.ORDER_STATUS_SUCCESS, refundedAmount: 0n, refundPendingAmount: 0n });
    const own = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: AMOUNT, reason: 'returned', attemptNo: '' });
    expect(own.refund).toMatchObject({ attemptNo: second, duplicate: false, status: RefundStatus.REFUND_STATUS_SUCCESS });
    expect(own.order?.status).toBe(OrderStatus.ORDER_STATUS_REFUNDED);
    expect(h.gateway.refundedTotal(second)).toBe(AMOUNT);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
  });

  it('When the policy is hold, then nothing is refunded, and a Refund naming the attempt refunds it at its channel, bounded by what it paid', async () => {
    h.service.deps.duplicatePayment = 'hold';
    const { order, first, second } = await paidTwice();
    await eventsInclude(order, 'DUPLICATE_PAYMENT');
    expect(await refundsOf(order)).toEqual([]);

    const refund = (amount: bigint, attemptNo: string, outRefundNo = uniq('RF')) =>
      h.call('refund', { order: ref(order), outRefundNo, amount, reason: 'paid twice', attemptNo });
    const part = await refund(1000n, first);
    expect(part.refund).toMatchObject({ attemptNo: first, duplicate: true, amount: 1000n, status: RefundStatus.REFUND_STATUS_SUCCESS });
    expect(part.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_SUCCESS, refundedAmount: 0n, refundPendingAmount: 0n });
    const tooMuch = await grpcError(refund(AMOUNT - 999n, first), status.FAILED_PRECONDITION);
    expect(decodeStatus(tooMuch).errorInfo?.reason).toBe('REFUND_EXCEEDS_REFUNDABLE');
    await refund(AMOUNT - 1000n, first);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
    expect(h.gateway.refundedTotal(second)).toBe(0n);

    // Naming the order's own paying attempt is the default path: the order's balance.
    const own = await refund(500n, second);
    expect(own.order).toMatchObject({ status: OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED, refundedAmount: 500n });
    expect(await eventTypes(order)).toEqual([
      'PAYMENT_SUCCEEDED',
      'DUPLICATE_PAYMENT',
      'DUPLICATE_PAYMENT_REFUNDED',
      'DUPLICATE_PAYMENT_REFUNDED',
      'REFUND_SUCCEEDED',
    ]);
  });

  it('When Refund names an attempt that was not paid, or one of another order, then it is refused and nothing is written', async () => {
    const order = await createOrder(h, tenant, { amount: AMOUNT });
    const unpaid = (await prepayOn(h, order, PayWay.PAY_WAY_MOCK)).attemptNo;
    const paidNow = (await prepayOn(h, order, PayWay.PAY_WAY_MOCK_QR)).attemptNo;
    h.gateway.pay(paidNow);
    await eventually(async () => (await orderRow(h, order)).status === 'SUCCESS');
    const other = await createOrder(h, tenant, { amount: AMOUNT });
    const otherAttempt = (await prepayOn(h, other, PayWay.PAY_WAY_MOCK)).attemptNo;
    const before = await orderRow(h, order);

    const refund = (attemptNo: string) =>
      h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 100n, reason: 'r', attemptNo });
    const notPaid = await grpcError(refund(unpaid), status.FAILED_PRECONDITION);
    expect(decodeStatus(notPaid).errorInfo).toMatchObject({
      reason: 'ATTEMPT_NOT_PAID',
      metadata: { attemptNo: unpaid, status: 'CLOSED' },
    });
    const foreign = await grpcError(refund(otherAttempt), status.NOT_FOUND);
    expect(decodeStatus(foreign).errorInfo?.reason).toBe('ATTEMPT_NOT_FOUND');
    await grpcError(refund('not-an-attempt'), status.INVALID_ARGUMENT);
    await grpcError(refund('ANOSUCHATTEMPT'), status.NOT_FOUND);

    expect(await refundsOf(order)).toEqual([]);
    expect((await orderRow(h, order)).version).toBe(before.version);
  });

  it('When the channel refuses the duplicate refund once, then it is tried again on the schedule and refunded exactly once', async () => {
    h.gateway.inject({ kind: 'refundFails' }, 1);
    const { order, first } = await paidTwice();
    await eventsInclude(order, 'DUPLICATE_PAYMENT_REFUNDED');
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([
      [`DUP-${first}`, 'FAILED'],
      [`DUP-${first}-2`, 'SUCCESS'],
    ]);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
    expect(await eventTypes(order)).toEqual(['PAYMENT_SUCCEEDED', 'DUPLICATE_PAYMENT', 'REFUND_FAILED', 'DUPLICATE_PAYMENT_REFUNDED']);
  });

  it('When the channel refuses every try, then the failure is surfaced once (event and metric) and nothing more is tried', async () => {
    const before = failedMetric(await metricsText(), 'duplicate');
    const errors = jest.spyOn(h.service.deps.log, 'error');
    h.gateway.inject({ kind: 'refundFails' }, 4);
    const { order, first } = await paidTwice();
    await eventsInclude(order, 'AUTOMATIC_REFUND_FAILED');
    // The operator told to refund by hand is told why the channel refused the last try.
    // Logged once the transaction that wrote the event has committed: a moment after the event is visible.
    const gaveUp = await eventually(async () =>
      errors.mock.calls.find(([, msg]) => msg === 'automatic refund failed on its last try: refund it by hand'),
    );
    errors.mockRestore();
    expect(gaveUp?.[0]).toMatchObject({ outRefundNo: `DUP-${first}-4`, reason: expect.stringMatching(/\S/) });
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([
      [`DUP-${first}`, 'FAILED'],
      [`DUP-${first}-2`, 'FAILED'],
      [`DUP-${first}-3`, 'FAILED'],
      [`DUP-${first}-4`, 'FAILED'],
    ]);
    expect(await eventTypes(order)).toEqual([
      'PAYMENT_SUCCEEDED',
      'DUPLICATE_PAYMENT',
      'REFUND_FAILED',
      'REFUND_FAILED',
      'REFUND_FAILED',
      'AUTOMATIC_REFUND_FAILED',
    ]);
    // Counted once the transaction that wrote the event has committed: a moment after the event is visible.
    await eventually(async () => failedMetric(await metricsText(), 'duplicate') >= before + 1);
    expect(failedMetric(await metricsText(), 'duplicate')).toBe(before + 1);

    // Given up: the job and the sweep (long after the last failure) try nothing more.
    const deps = h.service.deps;
    await deps.db.$executeRaw`UPDATE refund SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
    await deps.db.$executeRaw`UPDATE pay_order SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
    expect(await deps.jobs.automaticRefunds.run(deps, { tenantId: order.tenantId, payNo: order.payNo, attemptNo: first })).toBe(
      'gave up after 4 tries',
    );
    await deps.jobs.sweeper.run(deps);
    expect((await refundsOf(order)).length).toBe(4);
    expect(h.gateway.refundedTotal(first)).toBe(0n);
  });

  it('When an operator refunds the duplicate by hand between two tries, then the next try asks only for what is left, and none is made when nothing is', async () => {
    // Found in review: the next try asked for the whole amount, was refused (REFUND_EXCEEDS_REFUNDABLE) and thrown,
    // and the sweep queued it again on every pass, for ever, without ever reporting it.
    const deps = h.service.deps;
    const queue = deps.jobs.automaticRefunds.queue;
    await queue.pause(); // the tries run when this test runs them
    try {
      h.gateway.inject({ kind: 'refundFails' }, 1);
      const { order, first } = await paidTwice();
      await eventsInclude(order, 'DUPLICATE_PAYMENT');
      const target = { tenantId: order.tenantId, payNo: order.payNo, attemptNo: first };
      expect(await deps.jobs.automaticRefunds.run(deps, target)).toBe('try 1: refund is FAILED');

      const byHand = await h.call('refund', {
        order: ref(order),
        outRefundNo: uniq('RF'),
        amount: 1000n,
        reason: 'by hand',
        attemptNo: first,
      });
      expect(byHand.refund?.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
      await eventually(async () => (await deps.jobs.automaticRefunds.run(deps, target)) === 'try 2: refund is SUCCESS');
      expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.amount, r.status])).toEqual([
        [`DUP-${first}`, AMOUNT, 'FAILED'],
        [byHand.refund!.outRefundNo, 1000n, 'SUCCESS'],
        [`DUP-${first}-2`, AMOUNT - 1000n, 'SUCCESS'],
      ]);
      expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);

      // All of it by hand: the next try finds nothing left, makes no refund, and the sweep asks for none.
      h.gateway.inject({ kind: 'refundFails' }, 1);
      const again = await paidTwice();
      await eventsInclude(again.order, 'DUPLICATE_PAYMENT');
      const target2 = { tenantId: again.order.tenantId, payNo: again.order.payNo, attemptNo: again.first };
      expect(await deps.jobs.automaticRefunds.run(deps, target2)).toBe('try 1: refund is FAILED');
      await h.call('refund', {
        order: ref(again.order),
        outRefundNo: uniq('RF'),
        amount: AMOUNT,
        reason: 'by hand',
        attemptNo: again.first,
      });
      await eventually(async () => (await deps.jobs.automaticRefunds.run(deps, target2)).startsWith('nothing left to refund'));
      expect((await refundsOf(again.order)).length).toBe(2);
      const retries = await findDuplicateRefundsToRetry(deps.db, new Date(Date.now() + 3_600_000), 1000, 4);
      expect(retries.map((r) => r.attemptNo)).not.toContain(again.first);
      expect(h.gateway.refundedTotal(again.first)).toBe(AMOUNT);
    } finally {
      await queue.resume();
    }
  });

  it('When the duplicate is reported many times at once (duplicate notifies, Query syncs, reruns of the job), then it is refunded once', async () => {
    h.gateway.inject({ kind: 'duplicateNotify' }, 1);
    const { order, first } = await paidTwice();
    const deps = h.service.deps;
    const target = { tenantId: order.tenantId, payNo: order.payNo, attemptNo: first };
    await Promise.allSettled([
      ...[1, 2, 3].map(() => h.call('query', { order: ref(order), sync: true })),
      deps.jobs.automaticRefunds.run(deps, target),
      deps.jobs.automaticRefunds.run(deps, target),
    ]);
    await eventsInclude(order, 'DUPLICATE_PAYMENT_REFUNDED');
    await deps.jobs.automaticRefunds.run(deps, target);
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([[`DUP-${first}`, 'SUCCESS']]);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
    expect((await eventTypes(order)).filter((t) => t.startsWith('DUPLICATE_PAYMENT'))).toEqual([
      'DUPLICATE_PAYMENT',
      'DUPLICATE_PAYMENT_REFUNDED',
    ]);
  });

  it('When the refund job is lost right after the duplicate was recorded (Redis down), then the sweep finishes the refund', async () => {
    const deps = h.service.deps;
    const working = deps.automaticRefunds;
    deps.automaticRefunds = { schedule: () => Promise.reject(new Error('Redis is gone')) };
    let paid: Awaited<ReturnType<typeof paidTwice>>;
    try {
      paid = await paidTwice();
      await eventsInclude(paid.order, 'DUPLICATE_PAYMENT');
    } finally {
      deps.automaticRefunds = working;
    }
    const { order, first } = paid;
    // Written with the duplicate, in its transaction: the refund waits to be sent.
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([[`DUP-${first}`, 'PENDING']]);
    expect(h.gateway.refundedTotal(first)).toBe(0n);

    await deps.db.$executeRaw`UPDATE refund SET updated_at = NOW(3) - INTERVAL 2 HOUR WHERE pay_no = ${order.payNo}`;
    const report = await deps.jobs.sweeper.run(deps);
    expect(report.staleRefunds).toBeGreaterThanOrEqual(1);
    await eventsInclude(order, 'DUPLICATE_PAYMENT_REFUNDED');
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([[`DUP-${first}`, 'SUCCESS']]);
    expect(h.gateway.refundedTotal(first)).toBe(AMOUNT);
  });
});

describe('the automatic refund of a payment after close', () => {
  /** Prepay on MOCK, cancel, and the buyer pays the closed trade anyway. */
  async function paidAfterCancel(): Promise<{ order: PayOrder; attemptNo: string }> {
    const order = await createOrder(h, tenant, { amount: AMOUNT });
    const { attemptNo } = await prepayOn(h, order, PayWay.PAY_WAY_MOCK);
    const cancelled = await h.call('cancel', { order: ref(order), reason: 'buyer left' });
    expect(cancelled.order?.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    h.gateway.inject({ kind: 'successAfterClose' }, 1);
    h.gateway.pay(attemptNo);
    return { order, attemptNo };
  }

  it('When the channel refuses it once, then it is tried again on the schedule and the order ends REFUNDED', async () => {
    h.gateway.inject({ kind: 'refundFails' }, 1);
    const { order, attemptNo } = await paidAfterCancel();
    await eventually(async () => (await orderRow(h, order)).status === 'REFUNDED');
    expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status, r.requestedBy])).toEqual([
      [`AUTO-${order.payNo}`, 'FAILED', 'system:paid-after-close'],
      [`AUTO-${order.payNo}-2`, 'SUCCESS', 'system:paid-after-close'],
    ]);
    expect(h.gateway.refundedTotal(attemptNo)).toBe(AMOUNT);
    expect(await eventTypes(order)).toEqual(['ORDER_CLOSED', 'PAID_AFTER_CLOSE', 'REFUND_FAILED', 'REFUND_SUCCEEDED']);
  });

  it('When the channel refuses every try, then AUTOMATIC_REFUND_FAILED and the metric surface it, the order stays PAID_AFTER_CLOSE, and the sweep tries no more', async () => {
    const before = failedMetric(await metricsText(), 'paid_after_close');
    h.gateway.inject({ kind: 'refundFails' }, 4);
    const { order, attemptNo } = await paidAfterCancel();
    await eventsInclude(order, 'AUTOMATIC_REFUND_FAILED');
    expect((await refundsOf(order)).map((r) => r.status)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
    // Counted once the transaction that wrote the event has committed: a moment after the event is visible.
    await eventually(async () => failedMetric(await metricsText(), 'paid_after_close') >= before + 1);
    expect(failedMetric(await metricsText(), 'paid_after_close')).toBe(before + 1);
    expect((await orderRow(h, order)).status).toBe('PAID_AFTER_CLOSE');

    const deps = h.service.deps;
    await deps.db.$executeRaw`UPDATE pay_order SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
    await deps.db.$executeRaw`UPDATE refund SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
    await deps.jobs.sweeper.run(deps);
    expect(await deps.jobs.automaticRefunds.run(deps, { tenantId: order.tenantId, payNo: order.payNo })).toBe('gave up after 4 tries');
    expect((await refundsOf(order)).length).toBe(4);
    expect(h.gateway.refundedTotal(attemptNo)).toBe(0n);
  });

  it('When the jobs are lost (the first try, then the retry after its failure), then the sweep starts each try once it is due', async () => {
    const deps = h.service.deps;
    const working = deps.automaticRefunds;
    deps.automaticRefunds = { schedule: () => Promise.resolve() }; // accepted, never run: every enqueue is lost
    try {
      h.gateway.inject({ kind: 'refundFails' }, 1);
      const { order, attemptNo } = await paidAfterCancel();
      await eventually(async () => (await orderRow(h, order)).status === 'PAID_AFTER_CLOSE');
      const backdate = async () => {
        await deps.db.$executeRaw`UPDATE pay_order SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
        await deps.db.$executeRaw`UPDATE refund SET updated_at = NOW(3) - INTERVAL 1 HOUR WHERE pay_no = ${order.payNo}`;
      };
      await backdate();
      expect((await deps.jobs.sweeper.run(deps)).paidAfterClose).toBeGreaterThanOrEqual(1);
      await eventsInclude(order, 'REFUND_FAILED');
      expect((await refundsOf(order)).map((r) => r.status)).toEqual(['FAILED']);

      await backdate();
      expect((await deps.jobs.sweeper.run(deps)).paidAfterClose).toBeGreaterThanOrEqual(1);
      await eventually(async () => (await orderRow(h, order)).status === 'REFUNDED');
      expect((await refundsOf(order)).map((r) => [r.outRefundNo, r.status])).toEqual([
        [`AUTO-${order.payNo}`, 'FAILED'],
        [`AUTO-${order.payNo}-2`, 'SUCCESS'],
      ]);
      expect(h.gateway.refundedTotal(attemptNo)).toBe(AMOUNT);
    } finally {
      deps.automaticRefunds = working;
    }
  });
});
