import {
  InterceptingCall,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type Interceptor,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { OrderStatus, orderRef, PayWay, PaymentClient, RefundStatus, type PayOrder } from '../../src/client';
import { backoffMs, DEFAULT_RETRY } from '../../src/client/retry';
import {
  PaymentServiceService,
  type CreateOrderRequest,
  type CreateOrderResponse,
  type PaymentServiceServer,
} from '../../src/gen/payment/v1/payment_service';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { rejection } from '../support/capture';

let TENANT: string;
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

let h: Harness;
let client: PaymentClient;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-client');
  client = new PaymentClient(h.address, { token: h.token, deadlineMs: 30_000 }); // generous on a loaded machine
});
afterAll(async () => {
  client.close();
  await h.close();
});

const newOrder = (over: Partial<CreateOrderRequest> = {}) => ({
  tenantId: TENANT,
  outOrderNo: uniq('O'),
  amount: 5000n,
  currency: 'CNY',
  subject: 'Test goods',
  notifyTopic: 'order.pay.notify',
  ...over,
});

type CreateOrderHandler = (
  call: ServerUnaryCall<CreateOrderRequest, CreateOrderResponse>,
  callback: sendUnaryData<CreateOrderResponse>,
) => void;

/** A PaymentService on an ephemeral port whose CreateOrder is `handler` (everything else is UNIMPLEMENTED). */
async function fakeServer(handler: CreateOrderHandler): Promise<{ address: string; close: () => void }> {
  const server = new Server();
  server.addService(PaymentServiceService, { createOrder: handler } as Partial<PaymentServiceServer> as PaymentServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/**
 * Client channel options that record the deadline each call leaves with and the moment it leaves, so a test can
 * check the budget a call was given without timing anything (a loaded machine stretches every duration).
 */
function deadlineRecorder() {
  const sent: Array<{ deadline: number; at: number }> = [];
  const record: Interceptor = (options, nextCall) => {
    sent.push({ deadline: Number(options.deadline), at: Date.now() });
    return new InterceptingCall(nextCall(options));
  };
  return { sent, channelOptions: { interceptors: [record] } };
}

/** The call left at `sent.at` with a deadline `budgetMs` after it was made, which was no earlier than `since`. */
function expectBudget(sent: { deadline: number; at: number }, budgetMs: number, since: number): void {
  expect(sent.deadline).toBeGreaterThanOrEqual(since + budgetMs);
  expect(sent.deadline).toBeLessThanOrEqual(sent.at + budgetMs);
}

/**
 * A proxy in front of the real server that plays `script`, one step per CreateOrder it receives: 'drop' forwards
 * the call and loses the answer (UNAVAILABLE, as a connection reset would), 'fail' answers UNAVAILABLE without
 * forwarding, 'forward' (and any call past the script) forwards. Records what each attempt carried.
 */
async function flakyProxy(script: Array<'drop' | 'fail' | 'forward'>) {
  const seen: Array<{ outOrderNo: string; requestId: string }> = [];
  const unavailable = { code: status.UNAVAILABLE, details: 'proxy: upstream connection reset' };
  const proxy = await fakeServer((call, callback) => {
    const requestId = String(call.metadata.get('x-request-id')[0]);
    seen.push({ outOrderNo: call.request.outOrderNo, requestId });
    const step = script[seen.length - 1] ?? 'forward';
    if (step === 'fail') return callback(unavailable);
    const md = new Metadata();
    md.set('x-request-id', requestId);
    h.client.createOrder(call.request, md, { deadline: call.getDeadline() }, (err, res) =>
      step === 'drop' ? callback(unavailable) : callback(err, res),
    );
  });
  return { ...proxy, seen };
}

describe('PaymentClient', () => {
  it('When an order is created, prepaid, paid and refunded, then each step returns typed results', async () => {
    const { created, prepaid } = await client.createAndPrepay(newOrder(), { payWay: PayWay.PAY_WAY_MOCK });
    expect(created).toMatchObject({ replayed: false, order: { status: OrderStatus.ORDER_STATUS_WAIT_PAY, amount: 5000n } });
    expect(prepaid.payload?.$case).toBe('mockPayUrl');

    h.gateway.pay(prepaid.attemptNo);
    const ref = orderRef(created.order!);
    const paid: PayOrder = await client.waitForStatus(ref, [OrderStatus.ORDER_STATUS_SUCCESS], { timeoutMs: 5000, pollMs: 25 });
    expect(paid.payNo).toBe(created.order!.payNo);

    const refunded = await client.refund({ order: ref, outRefundNo: uniq('RF'), amount: 5000n, reason: 'returned' });
    expect(refunded.refund).toMatchObject({ amount: 5000n, status: RefundStatus.REFUND_STATUS_SUCCESS });
    expect(refunded.order!.status).toBe(OrderStatus.ORDER_STATUS_REFUNDED);
  });

  it('When the order never reaches the status, then waitForStatus fails with DEADLINE_EXCEEDED naming the status it is in', async () => {
    const { order } = await client.createOrder(newOrder());
    // The budget must cover at least one answered poll, however slow the machine, or there is no status to name.
    const err = await rejection(
      client.waitForStatus(orderRef(order!), [OrderStatus.ORDER_STATUS_SUCCESS], { timeoutMs: 2000, pollMs: 25 }),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain('ORDER_STATUS_WAIT_PAY');
  });

  it('When a request is invalid, then it fails with a PaymentError naming the field', async () => {
    const err = await rejection(client.createOrder(newOrder({ outOrderNo: 'not valid!' })));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'out_order_no' });
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('When a replay conflicts, then it fails with ALREADY_EXISTS listing the conflicting fields', async () => {
    const req = newOrder();
    await client.createOrder(req);
    const err = await rejection(client.createOrder({ ...req, amount: 6000n }));
    expect(err).toMatchObject({ code: status.ALREADY_EXISTS, conflictingFields: ['amount'] });
  });

  it('When the first two attempts are UNAVAILABLE, then the same request is resent with the same x-request-id and one order results', async () => {
    const proxy = await flakyProxy(['drop', 'fail']);
    const flaky = new PaymentClient(proxy.address, { retry: FAST_RETRY, deadlineMs: 30_000 });
    try {
      const req = newOrder();
      const res = await flaky.createOrder(req);
      expect(proxy.seen).toHaveLength(3);
      expect(new Set(proxy.seen.map((s) => s.outOrderNo))).toEqual(new Set([req.outOrderNo]));
      expect(new Set(proxy.seen.map((s) => s.requestId)).size).toBe(1);
      expect(res.replayed).toBe(true); // the dropped first attempt had created it
      expect(await h.service.deps.db.payOrder.count({ where: { tenantId: TENANT, outOrderNo: req.outOrderNo } })).toBe(1);
    } finally {
      flaky.close();
      proxy.close();
    }
  });

  it('When every attempt is UNAVAILABLE, then the client gives up after maxAttempts with UNAVAILABLE', async () => {
    const proxy = await flakyProxy(['fail', 'fail', 'fail', 'fail', 'fail']);
    const flaky = new PaymentClient(proxy.address, { retry: FAST_RETRY, deadlineMs: 30_000 });
    try {
      const err = await rejection(flaky.createOrder(newOrder(), { requestId: 'req-given' }));
      expect(err).toMatchObject({ code: status.UNAVAILABLE, requestId: 'req-given' });
      expect(proxy.seen).toHaveLength(DEFAULT_RETRY.maxAttempts);
      expect(proxy.seen.every((s) => s.requestId === 'req-given')).toBe(true);
    } finally {
      flaky.close();
      proxy.close();
    }
  });

  it('When a call fails with a code other than UNAVAILABLE, then it is not retried', async () => {
    const proxy = await flakyProxy([]);
    const flaky = new PaymentClient(proxy.address, { retry: FAST_RETRY, deadlineMs: 30_000 });
    try {
      const err = await rejection(flaky.createOrder(newOrder({ amount: 0n })));
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'amount' });
      expect(proxy.seen).toHaveLength(1);
    } finally {
      flaky.close();
      proxy.close();
    }
  });

  describe('against a server that never answers', () => {
    let silent: { address: string; close: () => void };
    beforeAll(async () => {
      silent = await fakeServer(() => undefined);
    });
    afterAll(() => silent.close());

    it('When a call sets a deadline, then it fails with DEADLINE_EXCEEDED once it has passed', async () => {
      const recorder = deadlineRecorder();
      const c = new PaymentClient(silent.address, { channelOptions: recorder.channelOptions });
      try {
        const started = Date.now();
        const err = await rejection(c.createOrder(newOrder(), { deadlineMs: 300 }));
        expect(err.code).toBe(status.DEADLINE_EXCEEDED);
        expect(Date.now() - started).toBeGreaterThanOrEqual(280); // not before it passed
        expect(recorder.sent).toHaveLength(1); // DEADLINE_EXCEEDED is not retried
        expectBudget(recorder.sent[0], 300, started); // the call's own deadline, not the client's 5 s default
      } finally {
        c.close();
      }
    });

    it('When a call sets no deadline, then the client default applies', async () => {
      const recorder = deadlineRecorder();
      const c = new PaymentClient(silent.address, { deadlineMs: 1000, channelOptions: recorder.channelOptions });
      try {
        // Connect first, with a deadline of its own: the default is then spent on the calls, not on set-up.
        expect((await rejection(c.query({ order: { tenantId: TENANT, payNo: 'P1' } }, { deadlineMs: 30_000 }))).code).toBe(
          status.UNIMPLEMENTED,
        );
        const started = Date.now();
        expect((await rejection(c.query({ order: { tenantId: TENANT, payNo: 'P1' } }))).code).toBe(status.UNIMPLEMENTED);
        expect((await rejection(c.createOrder(newOrder()))).code).toBe(status.DEADLINE_EXCEEDED);
        expect(recorder.sent).toHaveLength(3);
        const [, query, create] = recorder.sent;
        expectBudget(query, 1000, started);
        expectBudget(create, 1000, query.at); // each call gets the whole default from when it is made
      } finally {
        c.close();
      }
    });

    it('When the signal aborts, then the call fails with CANCELLED', async () => {
      const c = new PaymentClient(silent.address);
      try {
        const err = await rejection(c.createOrder(newOrder(), { signal: AbortSignal.timeout(50) }));
        expect(err.code).toBe(status.CANCELLED);
      } finally {
        c.close();
      }
    });
  });

  it('backoff doubles from the base, is capped, and keeps at least half of each pause', () => {
    const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 10].map((n) => backoffMs(policy, n, () => 0))).toEqual([50, 100, 200, 500]);
    expect([1, 2, 3, 10].map((n) => backoffMs(policy, n, () => 1))).toEqual([100, 200, 400, 1000]);
  });

  it('watchOrder is typed as a stream of orders (the server side is not implemented yet)', () => {
    const typed: (ref: { tenantId: string; payNo: string }, opts: { signal: AbortSignal }) => AsyncIterable<PayOrder> =
      client.watchOrder.bind(client);
    expect(typeof typed).toBe('function');
  });
});
