import { status } from '@grpc/grpc-js';
import { PayWay, PaymentClient } from '../../src/client';
import { REASONS } from '../../src/domain/reasons';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { rejection } from '../support/capture';

/** The typed client reads the google.rpc details of a failed call: reason, metadata, violations, retry delay. */
let h: Harness;
let tenant: string;
let client: PaymentClient;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-cerr');
  client = new PaymentClient(h.address, { token: h.token, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2000 } });
});
afterAll(async () => {
  client.close();
  await h.close();
});
afterEach(() => h.gateway.clearFaults());

const newOrder = (over: Record<string, unknown> = {}) => ({
  tenantId: tenant,
  outOrderNo: uniq('O'),
  amount: 5000n,
  currency: 'CNY',
  subject: 'Test goods',
  notifyTopic: 'order.pay.notify',
  ...over,
});

describe('PaymentError from the server’s google.rpc.Status', () => {
  it('When Prepay meets an expired order, then the error says ORDER_EXPIRED with the pay_no and expire time', async () => {
    const { order } = await client.createOrder(newOrder({ expireSeconds: 60 }));
    const expireAt = new Date(Date.now() - 1000);
    await h.service.deps.db.payOrder.update({ where: { payNo: order!.payNo }, data: { expireAt } });
    const err = await rejection(client.prepay({ order: { tenantId: tenant, payNo: order!.payNo }, payWay: PayWay.PAY_WAY_MOCK }));
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: 'ORDER_EXPIRED',
      domain: 'payment.v1',
      metadata: { payNo: order!.payNo, status: 'WAIT_PAY', expireAt: expireAt.toISOString() },
      fieldViolations: [],
      retryDelayMs: undefined,
    });
  });

  it('When a field is invalid, then the error lists the field violation (and still names the field as before)', async () => {
    const err = await rejection(client.createOrder(newOrder({ currency: 'XXX' })));
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: 'INVALID_ARGUMENT',
      field: 'currency',
      metadata: { field: 'currency' },
    });
    expect(err.fieldViolations).toEqual([{ field: 'currency', description: expect.stringContaining('must be one of') }]);
  });

  it('When an order number is replayed with other values, then the error names the conflicting fields', async () => {
    const first = newOrder();
    await client.createOrder(first);
    const err = await rejection(client.createOrder({ ...first, amount: 1n, subject: 'Other' }));
    expect(err).toMatchObject({ code: status.ALREADY_EXISTS, reason: 'IDEMPOTENCY_CONFLICT', conflictingFields: ['amount', 'subject'] });
    expect(err.metadata.conflictingFields).toBe('amount,subject');
  });

  it('When WatchOrder names an unknown order, then the stream ends with ORDER_NOT_FOUND', async () => {
    const watching = (async () => {
      for await (const _ of client.watchOrder({ tenantId: tenant, outOrderNo: uniq('none') })) void _;
    })();
    expect(await rejection(watching)).toMatchObject({ code: status.NOT_FOUND, reason: 'ORDER_NOT_FOUND', domain: 'payment.v1' });
  });

  it('When the channel is unavailable once, then the retry waits at least the server’s RetryInfo and succeeds', async () => {
    const { order } = await client.createOrder(newOrder());
    h.gateway.inject({ kind: 'serverError' }, 1);
    const started = Date.now();
    const pre = await client.prepay({ order: { tenantId: tenant, payNo: order!.payNo }, payWay: PayWay.PAY_WAY_MOCK });
    expect(pre.payload?.$case).toBe('mockPayUrl');
    expect(Date.now() - started).toBeGreaterThanOrEqual(REASONS.CHANNEL_UNAVAILABLE.retryDelayMs ?? Infinity);
  });
});
