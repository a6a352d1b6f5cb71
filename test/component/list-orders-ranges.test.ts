import { ListOrdersRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, paidOrder, prepayOn, ref } from '../support/orders';

/*
 * ListOrders reads each listed status, or (pay way, status) pair, as its own index range and merges them
 * (src/repo/order-queries.ts). Pages across several such ranges, with creation times shared between them, must
 * still be exactly the matching orders in (created_at, id) newest-first order.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const payNos = (orders: { payNo: string }[]) => orders.map((o) => o.payNo);

async function listAll(tenantId: string, over: Partial<ListOrdersRequest>): Promise<PayOrder[][]> {
  const pages: PayOrder[][] = [];
  let pageToken = '';
  do {
    const page = await h.call('listOrders', ListOrdersRequest.fromPartial({ tenantId, pageSize: 2, ...over, pageToken }));
    pages.push(page.orders);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return pages;
}

describe('ListOrders over several index ranges', () => {
  it('When a filter spans several statuses and pay ways with shared creation times, then the pages are exactly the matches, newest first', async () => {
    const tenant = await newTenant(h, 't-lr');
    const orders: PayOrder[] = [];
    for (let i = 0; i < 3; i++) orders.push(await createOrder(h, tenant)); // WAIT_PAY, no pay way
    for (let i = 0; i < 3; i++) {
      const o = await createOrder(h, tenant);
      await prepayOn(h, o, i % 2 ? PayWay.PAY_WAY_MOCK : PayWay.PAY_WAY_MOCK_QR); // PAYING
      orders.push(o);
    }
    for (let i = 0; i < 2; i++) orders.push(await paidOrder(h, tenant, 500n)); // SUCCESS on MOCK
    const closed = await createOrder(h, tenant, { payWay: PayWay.PAY_WAY_MOCK_QR });
    await h.call('cancel', { order: ref(closed), reason: '' });
    orders.push(closed);
    // Three creation instants shared across statuses and pay ways, so ties fall on page boundaries.
    const at = ['2026-04-01T10:00:00.500Z', '2026-04-01T09:00:00Z', '2026-04-01T10:00:00.500Z'];
    for (const [i, o] of orders.entries()) {
      await h.service.deps.db.payOrder.update({ where: { payNo: o.payNo }, data: { createdAt: new Date(at[i % 3]) } });
    }
    const db = h.service.deps.db;
    const expected = async (where: object) =>
      payNos(await db.payOrder.findMany({ where: { tenantId: tenant, ...where }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }));

    const cases: [Partial<ListOrdersRequest>, object][] = [
      [{}, {}],
      [{ statuses: [OrderStatus.ORDER_STATUS_WAIT_PAY, OrderStatus.ORDER_STATUS_PAYING] }, { status: { in: ['WAIT_PAY', 'PAYING'] } }],
      [
        { statuses: [OrderStatus.ORDER_STATUS_SUCCESS, OrderStatus.ORDER_STATUS_CLOSED, OrderStatus.ORDER_STATUS_PAYING] },
        { status: { in: ['SUCCESS', 'CLOSED', 'PAYING'] } },
      ],
      [{ payWays: [PayWay.PAY_WAY_MOCK] }, { payWay: 'MOCK' }],
      [{ payWays: [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR] }, { payWay: { in: ['MOCK', 'MOCK_QR'] } }],
      [
        { payWays: [PayWay.PAY_WAY_MOCK_QR], statuses: [OrderStatus.ORDER_STATUS_PAYING, OrderStatus.ORDER_STATUS_CLOSED] },
        { payWay: 'MOCK_QR', status: { in: ['PAYING', 'CLOSED'] } },
      ],
      [
        { createdFrom: new Date('2026-04-01T09:30:00Z'), statuses: [OrderStatus.ORDER_STATUS_WAIT_PAY] },
        {
          createdAt: { gte: new Date('2026-04-01T09:30:00Z') },
          status: 'WAIT_PAY',
        },
      ],
    ];
    for (const [filter, where] of cases) {
      const pages = await listAll(tenant, filter);
      expect({ filter, listed: payNos(pages.flat()) }).toEqual({ filter, listed: await expected(where) });
      expect(pages.slice(0, -1).every((p) => p.length === 2)).toBe(true);
    }
    // The mix is what it means to be: every range above has orders in it.
    expect(new Set(orders.map((o) => o.payNo)).size).toBe(9);
    expect((await expected({ status: 'PAYING' })).length).toBeGreaterThanOrEqual(1);
  });
});
