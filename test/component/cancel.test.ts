import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-cancel');
});
afterAll(() => h.close());
afterEach(() => h.gateway.clearFaults());

let TENANT: string;
const cancel = (o: Parameters<typeof ref>[0]) => h.call('cancel', { order: ref(o), reason: 'buyer changed mind' });
const prepay = (o: Parameters<typeof ref>[0]) =>
  h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });

describe('Cancel', () => {
  it('When an unpaid order without attempts is cancelled, then it is CLOSED with an ORDER_CLOSED event', async () => {
    const order = await createOrder(h, TENANT);
    const { order: closed } = await cancel(order);
    expect(closed!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    const events = await h.service.deps.db.outboxEvent.findMany({ where: { payNo: order.payNo } });
    expect(events.map((e) => e.type)).toEqual(['ORDER_CLOSED']);
  });

  it('When a PAYING order is cancelled, then the channel trade is closed first, then the order', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    const { order: closed } = await cancel(order);
    expect(closed!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(h.gateway.trade(pre.attemptNo)?.status).toBe('CLOSED');
    const attempt = await h.service.deps.db.payAttempt.findUniqueOrThrow({ where: { attemptNo: pre.attemptNo } });
    expect(attempt.status).toBe('CLOSED');
  });

  it('When a closed order is cancelled again, then it succeeds and changes nothing', async () => {
    const order = await createOrder(h, TENANT);
    const first = await cancel(order);
    const again = await cancel(order);
    expect(again.order!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(again.order!.version).toBe(first.order!.version);
    expect(await h.service.deps.db.outboxEvent.count({ where: { payNo: order.payNo } })).toBe(1);
  });

  it('When a paid order is cancelled, then FAILED_PRECONDITION and it stays paid', async () => {
    const order = await paidOrder(h, TENANT);
    const err = await grpcError(cancel(order), status.FAILED_PRECONDITION);
    expect(err.details).toContain('paid');
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row.status).toBe('SUCCESS');
  });

  it('When the channel says the trade was in fact paid, then the order becomes SUCCESS and Cancel reports it', async () => {
    const order = await createOrder(h, TENANT);
    const pre = await prepay(order);
    h.gateway.inject({ kind: 'dropNotify' }, 10);
    h.gateway.pay(pre.attemptNo);
    const err = await grpcError(cancel(order), status.FAILED_PRECONDITION);
    expect(err.details).toContain('SUCCESS');
    const db = h.service.deps.db;
    expect((await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status).toBe('SUCCESS');
    const trail = await db.orderTransition.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => t.toStatus)).toEqual(['PAYING', 'SUCCESS']);
    expect((await db.outboxEvent.findMany({ where: { payNo: order.payNo } })).map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED']);
  });

  it('When the channel cannot be reached, then UNAVAILABLE and the order is unchanged', async () => {
    const order = await createOrder(h, TENANT);
    await prepay(order);
    h.gateway.inject({ kind: 'serverError' }, 5);
    await grpcError(cancel(order), status.UNAVAILABLE);
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row.status).toBe('PAYING');
  });

  it('When the caller gives a deadline shorter than a hanging channel, then the call ends with DEADLINE_EXCEEDED', async () => {
    const order = await createOrder(h, TENANT);
    await prepay(order);
    h.gateway.inject({ kind: 'hang', ms: 60_000 }, 1); // longer than any channel timeout
    const close = jest.spyOn(h.service.deps.channels.require('MOCK'), 'close');
    try {
      await grpcError(h.call('cancel', { order: ref(order), reason: '' }, 300), status.DEADLINE_EXCEEDED);
      // The server gave up its channel call with the caller, instead of waiting out the channel timeout.
      await eventually(async () => close.mock.results.length > 0);
      expect(await close.mock.results[0].value).toEqual({
        outcome: 'unknown',
        reason: 'aborted by caller',
        said: { endpoint: 'POST /v1/trades/{out_trade_no}/close' },
      });
    } finally {
      close.mockRestore();
    }
    const row = await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    expect(row.status).toBe('PAYING');
  });
});
