import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, RefundStatus, TransitionCause, type PayOrder } from '../../src/gen/payment/v1/types';
import type { CloseResult, PayOrderHandler } from '../../src/channels/types';
import { wechatTenant } from '../support/channels';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { captureLogs } from '../support/capture';
import { createOrder, mockAttempts, orderRequest, orderRow as orderRowOf, paidOrder, prepayOn, ref } from '../support/orders';

/** Holes found by an adversarial review of issue 10, each pinned by the test that found it. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
afterEach(() => {
  h.gateway.clearFaults();
  jest.restoreAllMocks();
});

const prepay = (order: PayOrder, payWay: PayWay) => prepayOn(h, order, payWay);
const attemptsOf = (order: PayOrder) => mockAttempts(h, order);
const orderRow = (order: PayOrder) => orderRowOf(h, order);

/** The next close through `handler` reaches the channel, then waits for `release` before its answer is used. */
function holdNextCloseAnswer(handler: PayOrderHandler): { closedAtChannel: Promise<void>; release: () => void } {
  const real = handler.close.bind(handler);
  let reached!: () => void;
  let release!: () => void;
  const closedAtChannel = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  jest.spyOn(handler, 'close').mockImplementationOnce(async (trade, call): Promise<CloseResult> => {
    const answer = await real(trade, call);
    reached();
    await gate;
    return answer;
  });
  return { closedAtChannel, release };
}

describe('Cancel racing a Prepay that opens the current attempt', () => {
  it('When a Prepay opens a CREATED attempt after the Cancel closed it at the channel, then the order is not closed over an open trade', async () => {
    const order = await createOrder(h, await newTenant(h));
    h.gateway.inject({ kind: 'serverError' }, 1);
    await grpcError(prepay(order, PayWay.PAY_WAY_MOCK), status.UNAVAILABLE); // attempt CREATED, never reached the channel
    const [attempt] = await attemptsOf(order);
    expect(attempt).toMatchObject({ status: 'CREATED', atChannel: 'never sent' });

    const held = holdNextCloseAnswer(h.service.deps.channels.require('MOCK'));
    const cancelled = h.call('cancel', { order: ref(order), reason: 'race' }).then(
      (ok) => ({ ok }),
      (err: { code: status }) => ({ err }),
    );
    await held.closedAtChannel; // the Cancel's close found no trade: "closed"
    const opened = await prepay(order, PayWay.PAY_WAY_MOCK); // the retry opens the same attempt at the channel now
    held.release();
    const outcome = await cancelled;

    const row = await orderRow(order);
    const attempts = await attemptsOf(order);
    if (row.status === 'CLOSED') {
      // Closed: nothing may be payable at the channel.
      expect('ok' in outcome && outcome.ok.order?.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
      expect(attempts.filter((a) => a.atChannel === 'NOTPAY')).toEqual([]);
    } else {
      // Still paying: the Cancel lost (ABORTED) and exactly the attempt the Prepay handed out is open.
      expect(row.status).toBe('PAYING');
      expect('err' in outcome && outcome.err.code).toBe(status.ABORTED);
      expect(attempts).toEqual([{ attemptNo: opened.attemptNo, status: 'OPEN', atChannel: 'NOTPAY' }]);
    }
  });
});

describe('Log lines inside a call', () => {
  it('When a use case logs during a call (a refund the channel did not answer), then the line names the caller and the request id', async () => {
    const order = await paidOrder(h, await newTenant(h));
    const { lines, restore } = captureLogs(h);
    try {
      h.gateway.inject({ kind: 'serverError' }, 1);
      await h.call('refund', { order: ref(order), outRefundNo: 'RF-log-1', amount: 100n, reason: '' });
      await new Promise((r) => setImmediate(r));
    } finally {
      restore();
    }
    const done = lines.find((l) => l.rpc === 'Refund');
    const inside = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('refund outcome unknown'));
    expect(done).toMatchObject({ actor: 'test-harness', requestId: expect.any(String) });
    expect(inside).toMatchObject({ actor: 'test-harness', requestId: done!.requestId });
  });
});

describe('Values the channels cannot take', () => {
  it.each([
    ['spaces', '   '],
    ['an ideographic space', '\u3000'],
    ['a no-break space', '\u00a0'],
  ])(
    'When CreateOrder has a subject of only %s, then INVALID_ARGUMENT naming subject and no order (WeChat would refuse its empty description at Prepay)',
    async (_what, subject) => {
      const tenantId = await newTenant(h);
      const req = orderRequest(tenantId, { subject });
      const err = await grpcError(h.call('createOrder', req), status.INVALID_ARGUMENT);
      expect(err.metadata.get('field')).toEqual(['subject']);
      expect(await h.service.deps.db.payOrder.count({ where: { tenantId } })).toBe(0);
    },
  );
});

describe('Notify answers to strangers', () => {
  it('When an unsigned notify is posted for a tenant with a WeChat account, one without and one never registered, then all three answers are the same', async () => {
    const wx = await wechatTenant(h, await newTenant(h, 't-wx'));
    try {
      const post = async (tenantId: string) => {
        const res = await fetch(`${h.notifyBaseUrl}/notify/wx/${tenantId}/native`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'probe', event_type: 'TRANSACTION.SUCCESS' }),
        });
        return [res.status, await res.text()];
      };
      const withAccount = await post(wx.tenantId);
      expect(withAccount[0]).toBe(500);
      expect(await post(await newTenant(h))).toEqual(withAccount);
      expect(await post(uniq('never'))).toEqual(withAccount);
    } finally {
      await wx.close();
    }
  });
});

describe('Audit rows of a QueryRefund with sync', () => {
  it("When a caller's QueryRefund with sync finds the refund settled at the channel, then the order's transition names that caller", async () => {
    const order = await paidOrder(h, await newTenant(h));
    h.gateway.holdRefunds(true);
    try {
      const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: order.amount, reason: '' });
      h.gateway.inject({ kind: 'dropNotify' }, 10); // its notify never arrives: only a query can find the outcome
      h.gateway.settleRefund(refund!.refundNo, 'SUCCESS');
      const after = await h.call('queryRefund', { tenantId: order.tenantId, outRefundNo: refund!.outRefundNo, sync: true });
      expect(after.refund!.status).toBe(RefundStatus.REFUND_STATUS_SUCCESS);
    } finally {
      h.gateway.holdRefunds(false);
    }
    const { order: queried } = await h.call('query', { order: ref(order), sync: false });
    const last = queried!.transitions.at(-1)!;
    expect([OrderStatus[last.toStatus], TransitionCause[last.cause], last.actor]).toEqual([
      'ORDER_STATUS_REFUNDED',
      'TRANSITION_CAUSE_SYNC',
      'test-harness',
    ]);
  });
});

describe('refund numbers reserved for the service', () => {
  it("When a caller's Refund names out_refund_no AUTO-<pay_no> of another order, then it is INVALID_ARGUMENT and that order's automatic refund stays free", async () => {
    const tenant = await newTenant(h, 't-auto');
    const paid = await paidOrder(h, tenant);
    const other = await createOrder(h, tenant);
    const err = await grpcError(
      h.call('refund', { order: ref(paid), outRefundNo: `AUTO-${other.payNo}`, amount: 100n, reason: '' }),
      status.INVALID_ARGUMENT,
    );
    expect(err.metadata.get('field')).toEqual(['out_refund_no']);
    expect(await h.service.deps.db.refund.count({ where: { tenantId: tenant } })).toBe(0);
  });
});
