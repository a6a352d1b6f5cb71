import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { expireOrder } from '../../src/app/expire-order';
import { mintCaller } from '../../src/grpc/caller-token';
import { ListOrdersRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, TransitionCause, type OrderTransition } from '../../src/gen/payment/v1/types';
import type { RequestOf, ResponseOf, UnaryMethod } from '../../src/client/unary-call';
import { bearer, eventually, newTenant, startHarness, TEST_CALLER, uniq, type Harness } from '../support/harness';
import { captureLogs } from '../support/capture';
import { orderRequest, ref } from '../support/orders';

/*
 * "Who did this?" has an answer an RPC returns: Query lists the order's transitions with cause and actor, Refund
 * and Query name who requested each refund, ListEvents who replayed an event; and every log line of a call
 * names its caller.
 */

const shop = mintCaller('shop-frontend', { tenants: '*', permissions: ['pay'] });
const ops = mintCaller('ops-console', { tenants: '*', permissions: ['operate'] });

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, shop.entry, ops.entry]) });
});
afterAll(() => h?.close());

/** A unary call as the caller with `token`. */
function as(token: string) {
  return <M extends UnaryMethod>(method: M, req: RequestOf<M>): Promise<ResponseOf<M>> =>
    new Promise((resolve, reject) => {
      const fn = h.client[method] as unknown as (
        r: unknown,
        md: Metadata,
        o: object,
        cb: (e: ServiceError | null, r: unknown) => void,
      ) => void;
      fn.call(h.client, req, bearer(token), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res as never)));
    });
}

const trail = (ts: OrderTransition[]) => ts.map((t) => [OrderStatus[t.toStatus], TransitionCause[t.cause], t.actor]);

describe('Actors on the audit trail', () => {
  it('When a caller prepays, the channel notifies the payment and the caller refunds, then Query and Refund say who did each step', async () => {
    const asShop = as(shop.token);
    const { order } = await asShop('createOrder', orderRequest(await newTenant(h), { amount: 3000n }));
    const pre = await asShop('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.pay(pre.attemptNo);
    await eventually(
      async () => (await asShop('query', { order: ref(order!), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );

    const refunded = await asShop('refund', { order: ref(order!), outRefundNo: uniq('RF'), amount: 1000n, reason: 'damaged' });
    expect(refunded.refund).toMatchObject({ requestedBy: 'shop-frontend' });

    const { order: queried } = await asShop('query', { order: ref(order!), sync: false });
    expect(trail(queried!.transitions)).toEqual([
      ['ORDER_STATUS_PAYING', 'TRANSITION_CAUSE_RPC', 'shop-frontend'],
      ['ORDER_STATUS_SUCCESS', 'TRANSITION_CAUSE_NOTIFY', 'channel:notify'],
      ['ORDER_STATUS_PARTIAL_REFUNDED', 'TRANSITION_CAUSE_RPC', 'shop-frontend'],
    ]);
    expect(queried!.refunds.map((r) => r.requestedBy)).toEqual(['shop-frontend']);
    const row = await h.service.deps.db.refund.findFirstOrThrow({ where: { refundNo: refunded.refund!.refundNo } });
    expect(row.requestedBy).toBe('shop-frontend');
  });

  it('When a caller cancels one order and another expires, then the closes are by the caller and by system:timeout', async () => {
    const asShop = as(shop.token);
    const tenantId = await newTenant(h);
    const { order: cancelled } = await asShop('createOrder', orderRequest(tenantId));
    await asShop('cancel', { order: ref(cancelled!), reason: 'changed my mind' });
    const { order: expiring } = await asShop('createOrder', orderRequest(tenantId, { expireSeconds: 60 }));
    await h.service.deps.db.payOrder.update({ where: { payNo: expiring!.payNo }, data: { expireAt: new Date(Date.now() - 1000) } });
    await expireOrder(h.service.deps, tenantId, expiring!.payNo);

    expect(trail((await asShop('query', { order: ref(cancelled!), sync: false })).order!.transitions)).toEqual([
      ['ORDER_STATUS_CLOSED', 'TRANSITION_CAUSE_RPC', 'shop-frontend'],
    ]);
    expect(trail((await asShop('query', { order: ref(expiring!), sync: false })).order!.transitions)).toEqual([
      ['ORDER_STATUS_CLOSED', 'TRANSITION_CAUSE_TIMEOUT', 'system:timeout'],
    ]);
  });

  it("When a lost payment is found by a scheduled status query, then by system:sync; by a caller's Query with sync, then by the caller", async () => {
    const asShop = as(shop.token);
    const tenantId = await newTenant(h);
    const paidUnseen = async () => {
      const { order } = await asShop('createOrder', orderRequest(tenantId));
      const pre = await asShop('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      h.gateway.inject({ kind: 'dropNotify' }, 10);
      h.gateway.pay(pre.attemptNo);
      return { order: order!, attemptNo: pre.attemptNo };
    };
    try {
      const scheduled = await paidUnseen();
      await h.service.deps.jobs.statusSync.run(h.service.deps, { attemptNo: scheduled.attemptNo, round: 0 });
      const asked = await paidUnseen();
      await asShop('query', { order: ref(asked.order), sync: true });

      expect(trail((await asShop('query', { order: ref(scheduled.order), sync: false })).order!.transitions)[1]).toEqual([
        'ORDER_STATUS_SUCCESS',
        'TRANSITION_CAUSE_SYNC',
        'system:sync',
      ]);
      expect(trail((await asShop('query', { order: ref(asked.order), sync: false })).order!.transitions)[1]).toEqual([
        'ORDER_STATUS_SUCCESS',
        'TRANSITION_CAUSE_SYNC',
        'shop-frontend',
      ]);
    } finally {
      h.gateway.clearFaults();
    }
  });

  it('When an operator replays an event, then the replay is recorded with the operator as its actor', async () => {
    const tenantId = await newTenant(h);
    const { order } = await h.call('createOrder', orderRequest(tenantId));
    await h.call('cancel', { order: ref(order!), reason: '' });
    const [closed] = await eventually(async () => {
      const { events } = await h.call('listEvents', { pageSize: 0, pageToken: '', order: ref(order!) });
      return events.length === 1 && events[0].deliveredTime && events;
    });
    const { event } = await as(ops.token)('replayEvent', { tenantId, eventId: closed.event!.eventId });
    expect(event!.deliveries.filter((d) => d.target === 'replay').map((d) => d.actor)).toEqual(['ops-console']);
    expect(event!.deliveries.filter((d) => d.target !== 'replay').every((d) => d.actor === '')).toBe(true);
  });

  it('When Cancel returns the order, then transitions stay empty: only Query fills them', async () => {
    const { order } = await h.call('createOrder', orderRequest(await newTenant(h)));
    const { order: after } = await h.call('cancel', { order: ref(order!), reason: '' });
    expect(after!.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
    expect(after!.transitions).toEqual([]);
  });
});

describe('Log lines', () => {
  it('When calls are made, then each line names its caller; a refused call says why (and who, once known), and no token is logged', async () => {
    const { lines, restore } = captureLogs(h);
    try {
      const tenantId = await newTenant(h);
      await as(shop.token)('listPayWays', { tenantId });
      await as(ops.token)('listOrders', ListOrdersRequest.fromPartial({ tenantId }));
      const refused = await as(shop.token)('listOrders', ListOrdersRequest.fromPartial({ tenantId })).catch((e: ServiceError) => e);
      expect((refused as ServiceError).code).toBe(status.PERMISSION_DENIED);
      const stranger = await as(`paysvc_${'z'.repeat(43)}`)('listPayWays', { tenantId }).catch((e: ServiceError) => e);
      expect((stranger as ServiceError).code).toBe(status.UNAUTHENTICATED);
      await new Promise((r) => setImmediate(r));

      const rpcLines = lines.filter((l) => l.rpc);
      expect(rpcLines.map((l) => [l.rpc, l.actor, l.code, l.msg])).toEqual([
        ['ListPayWays', 'shop-frontend', 'OK', 'rpc done'],
        ['ListOrders', 'ops-console', 'OK', 'rpc done'],
        ['ListOrders', 'shop-frontend', 'PERMISSION_DENIED', 'rpc refused'],
        ['ListPayWays', undefined, 'UNAUTHENTICATED', 'rpc refused'],
      ]);
      expect(rpcLines[2].details).toContain('caller shop-frontend may not call ListOrders');
      const text = JSON.stringify(lines);
      for (const token of [shop.token, ops.token, 'z'.repeat(43)]) expect(text).not.toContain(token);
    } finally {
      restore();
    }
  });
});
