import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, AttemptStatus } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-prepay');
});
afterAll(() => h.close());
afterEach(() => h.gateway.clearFaults());

let TENANT: string;
const prepay = (order: Parameters<typeof ref>[0], payWay = PayWay.PAY_WAY_MOCK) =>
  h.call('prepay', { order: ref(order), payWay, clientIp: '127.0.0.1', payerId: '' });

describe('Prepay', () => {
  it('When an order is prepaid on the mock channel and the buyer pays, then the notify makes it SUCCESS exactly once', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    expect(pre.replayed).toBe(false);
    expect(pre.order!.status).toBe(OrderStatus.ORDER_STATUS_PAYING);
    expect(pre.payload?.$case).toBe('mockPayUrl');
    expect(pre.payload?.value).toBe(`${h.gatewayUrl}/pay/${pre.attemptNo}`);

    h.gateway.pay(pre.attemptNo);
    const paid = await eventually(async () => {
      const { order: o } = await h.call('query', { order: ref(order), sync: false });
      return o!.status === OrderStatus.ORDER_STATUS_SUCCESS && o;
    });
    expect(paid.paidTime).toBeInstanceOf(Date);
    expect(paid.channelTradeNo).not.toBe('');
    expect(paid.attempts).toHaveLength(1);
    expect(paid.attempts[0].status).toBe(AttemptStatus.ATTEMPT_STATUS_SUCCESS);

    const db = h.service.deps.db;
    const events = await db.outboxEvent.findMany({ where: { payNo: order.payNo } });
    expect(events.map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED']);
    expect(events[0].payload).toMatchObject({ payNo: order.payNo, status: 'ORDER_STATUS_SUCCESS', amount: '10000' });
    const trail = await db.orderTransition.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => [t.fromStatus, t.toStatus, t.cause])).toEqual([
      ['WAIT_PAY', 'PAYING', 'RPC'],
      ['PAYING', 'SUCCESS', 'NOTIFY'],
    ]);
    const notifies = await db.notifyRecord.findMany({ where: { payNo: order.payNo } });
    expect(notifies.map((n) => [n.result, n.signatureValid])).toEqual([['PROCESSED', true]]);
  });

  it('When Prepay is replayed with the same pay way, then the stored payload returns without calling the channel', async () => {
    const order = await createOrder(h, TENANT);
    const first = await prepay(order);
    h.gateway.inject({ kind: 'serverError' }, 100); // any channel call would now fail
    const again = await prepay(order);
    expect(again.replayed).toBe(true);
    expect(again.attemptNo).toBe(first.attemptNo);
    expect(again.payload).toEqual(first.payload);
  });

  it('When the pay way is switched, then the previous attempt is closed at the channel first, and a fourth switch is refused', async () => {
    const order = await createOrder(h, TENANT);
    const first = await prepay(order, PayWay.PAY_WAY_MOCK);
    const second = await prepay(order, PayWay.PAY_WAY_MOCK_QR);
    expect(second.attemptNo).not.toBe(first.attemptNo);
    expect(second.payload?.$case).toBe('qrCodeUrl');
    expect(second.order).toMatchObject({ payWay: PayWay.PAY_WAY_MOCK_QR, payWaySwitches: 1 });
    expect(h.gateway.trade(first.attemptNo)?.status).toBe('CLOSED');

    await prepay(order, PayWay.PAY_WAY_MOCK); // switch 2
    const third = await prepay(order, PayWay.PAY_WAY_MOCK_QR); // switch 3
    expect(third.order!.payWaySwitches).toBe(3);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK), status.FAILED_PRECONDITION);
    expect(err.details).toContain('switched pay way 3 times');

    const attempts = await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(attempts.map((a) => a.status)).toEqual(['CLOSED', 'CLOSED', 'CLOSED', 'OPEN']);
    // The replay of the open pay way still works after the limit.
    expect((await prepay(order, PayWay.PAY_WAY_MOCK_QR)).replayed).toBe(true);
  });

  it('When the buyer paid the previous attempt before a switch, then the switch is refused and the order is SUCCESS', async () => {
    const order = await createOrder(h, TENANT);
    const first = await prepay(order, PayWay.PAY_WAY_MOCK);
    h.gateway.inject({ kind: 'dropNotify' }, 10); // the notify is lost: only the close reveals the payment
    h.gateway.pay(first.attemptNo);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK_QR), status.FAILED_PRECONDITION);
    expect(err.details).toContain('already paid');
    const { order: now } = await h.call('query', { order: ref(order), sync: false });
    expect(now!.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it('When the order is expired, closed or paid, then Prepay is FAILED_PRECONDITION', async () => {
    const expired = await createOrder(h, TENANT, { expireSeconds: 60 });
    await h.service.deps.db.payOrder.update({ where: { payNo: expired.payNo }, data: { expireAt: new Date(Date.now() - 1000) } });
    const e1 = await grpcError(prepay(expired), status.FAILED_PRECONDITION);
    expect(e1.details).toContain('expired');

    const closed = await createOrder(h, TENANT);
    await h.call('cancel', { order: ref(closed), reason: 'user left' });
    const e2 = await grpcError(prepay(closed), status.FAILED_PRECONDITION);
    expect(e2.details).toContain('CLOSED');
  });

  it("When the tenant has no account at the pay way's channel, then Prepay is FAILED_PRECONDITION and nothing changes", async () => {
    const order = await createOrder(h, TENANT);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_ALIPAY_APP), status.FAILED_PRECONDITION);
    expect(err.details).toContain('no alipay account');
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row.status).toBe('WAIT_PAY');
    expect(row.version).toBe(1n);
  });

  it('When the channel does not answer the prepay, then UNAVAILABLE, the order stays PAYING, and a retry reuses the attempt', async () => {
    const order = await createOrder(h, TENANT);
    h.gateway.inject({ kind: 'serverError' }, 1);
    await grpcError(prepay(order), status.UNAVAILABLE);
    const db = h.service.deps.db;
    const attempts = await db.payAttempt.findMany({ where: { payNo: order.payNo } });
    expect(attempts.map((a) => a.status)).toEqual(['CREATED']);
    expect((await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status).toBe('PAYING');

    const retry = await prepay(order);
    expect(retry.attemptNo).toBe(attempts[0].attemptNo);
    expect(retry.payload?.$case).toBe('mockPayUrl');
  });

  it('When the request is invalid, then INVALID_ARGUMENT names the field', async () => {
    const order = await createOrder(h, TENANT);
    const e1 = await grpcError(
      h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_UNSPECIFIED, clientIp: '', payerId: '' }),
      status.INVALID_ARGUMENT,
    );
    expect(e1.metadata.get('field')).toEqual(['pay_way']);
    const e2 = await grpcError(
      h.call('prepay', { order: { tenantId: TENANT, key: undefined }, payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' }),
      status.INVALID_ARGUMENT,
    );
    expect(e2.metadata.get('field')).toEqual(['order']);
    await grpcError(
      h.call('prepay', {
        order: { tenantId: TENANT, key: { $case: 'outOrderNo', value: uniq('none') } },
        payWay: PayWay.PAY_WAY_MOCK,
        clientIp: '',
        payerId: '',
      }),
      status.NOT_FOUND,
    );
  });

  it('When several first Prepays of one order race, then all get the one attempt and its payload, and none is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await createOrder(h, TENANT);
      const results = await Promise.all([prepay(order), prepay(order), prepay(order), prepay(order)]);
      expect(new Set(results.map((r) => r.attemptNo)).size).toBe(1);
      expect(new Set(results.map((r) => r.payload?.value)).size).toBe(1);
      const attempts = await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo } });
      expect(attempts.map((a) => a.status)).toEqual(['OPEN']);
      expect(h.gateway.trade(results[0].attemptNo)?.status).toBe('NOTPAY'); // open at the channel, not closed by a loser
      expect(results.filter((r) => !r.replayed)).toHaveLength(1); // one call reached the channel; the rest waited for it
    }
  });
});
