import { status } from '@grpc/grpc-js';
import { ListOrdersRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, paidOrder, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const list = (tenantId: string, over: Partial<ListOrdersRequest> = {}) =>
  h.call('listOrders', ListOrdersRequest.fromPartial({ tenantId, ...over }));

/** Every page of a listing, following next_page_token; `between` runs before each page after the first. */
async function listAll(tenantId: string, over: Partial<ListOrdersRequest> = {}, between = async () => {}): Promise<PayOrder[][]> {
  const pages: PayOrder[][] = [];
  let pageToken = '';
  do {
    if (pages.length > 0) await between();
    const page = await list(tenantId, { ...over, pageToken });
    pages.push(page.orders);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return pages;
}

const payNos = (orders: PayOrder[]) => orders.map((o) => o.payNo);
const newestFirst = (a: PayOrder, b: PayOrder) => b.createTime!.getTime() - a.createTime!.getTime();

/** Moves orders to chosen creation times, as if they had been created then. */
async function setCreatedAt(orders: PayOrder[], at: Date): Promise<void> {
  await h.service.deps.db.payOrder.updateMany({ where: { payNo: { in: payNos(orders) } }, data: { createdAt: at } });
}

describe('ListOrders', () => {
  it('When orders are created while a caller pages through, then it sees every earlier order exactly once, newest first', async () => {
    const tenant = await newTenant(h, 't-lo');
    const existing: PayOrder[] = [];
    for (let i = 0; i < 13; i++) existing.push(await createOrder(h, tenant));
    // Ties on created_at, with page boundaries falling inside them: the id breaks the tie.
    const base = Date.now() - 60_000;
    for (let i = 0; i < 13; i += 4) await setCreatedAt(existing.slice(i, i + 4), new Date(base + i * 1000));

    const created: PayOrder[] = [];
    const pages = await listAll(tenant, { pageSize: 3 }, async () => {
      created.push(await createOrder(h, tenant), await createOrder(h, tenant));
    });

    const seen = pages.flat();
    expect(pages.slice(0, -1).every((p) => p.length === 3)).toBe(true);
    expect(new Set(payNos(seen)).size).toBe(seen.length); // nothing repeated
    expect(payNos(seen).sort()).toEqual(payNos(existing).sort()); // nothing skipped; the newer ones sort before page 1
    expect(seen.map((o) => o.createTime!.getTime())).toEqual([...seen].sort(newestFirst).map((o) => o.createTime!.getTime()));
    expect(created.length).toBeGreaterThan(0);
    // A fresh listing starts with what was created meanwhile.
    const { orders: first } = await list(tenant, { pageSize: created.length });
    expect(payNos(first).sort()).toEqual(payNos(created).sort());
  });

  it('When orders share a creation time, then pages split them by id without losing any', async () => {
    const tenant = await newTenant(h, 't-lo');
    const orders = await Promise.all(Array.from({ length: 7 }, () => createOrder(h, tenant)));
    await setCreatedAt(orders, new Date('2026-05-01T08:00:00.123Z'));
    const pages = await listAll(tenant, { pageSize: 2 });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    const rows = await h.service.deps.db.payOrder.findMany({ where: { tenantId: tenant }, orderBy: { id: 'desc' } });
    expect(payNos(pages.flat())).toEqual(rows.map((r) => r.payNo));
  });

  it('When filters are given, then only orders matching all of them are listed', async () => {
    const tenant = await newTenant(h, 't-lo');
    const unpaid = await createOrder(h, tenant, { userId: 'alice' });
    const qr = await createOrder(h, tenant, { userId: 'bob', payWay: PayWay.PAY_WAY_MOCK_QR });
    const paid = await paidOrder(h, tenant, 2000n); // user u-1, pay way MOCK
    const closed = await createOrder(h, tenant, { userId: 'alice' });
    await h.call('cancel', { order: ref(closed), reason: 'changed mind' });
    const old = await createOrder(h, tenant, { userId: 'alice' });
    await setCreatedAt([old], new Date('2026-01-01T00:00:00Z'));
    const all = [unpaid, qr, paid, closed, old];
    const listed = async (over: Partial<ListOrdersRequest>) => payNos((await listAll(tenant, over)).flat()).sort();
    const expected = (...orders: PayOrder[]) => payNos(orders).sort();

    expect(await listed({})).toEqual(expected(...all));
    expect(await listed({ statuses: [OrderStatus.ORDER_STATUS_WAIT_PAY] })).toEqual(expected(unpaid, qr, old));
    expect(await listed({ statuses: [OrderStatus.ORDER_STATUS_SUCCESS, OrderStatus.ORDER_STATUS_CLOSED] })).toEqual(expected(paid, closed));
    expect(await listed({ payWays: [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR] })).toEqual(expected(qr, paid));
    expect(await listed({ userId: 'alice', statuses: [OrderStatus.ORDER_STATUS_WAIT_PAY] })).toEqual(expected(unpaid, old));
    expect(await listed({ createdTo: new Date('2026-01-01T00:00:00Z') })).toEqual([]); // exclusive
    expect(await listed({ createdFrom: new Date('2026-01-01T00:00:00Z'), createdTo: new Date('2026-01-01T00:00:00.001Z') })).toEqual(
      expected(old),
    ); // inclusive
    expect(await listed({ createdFrom: new Date('2026-01-02T00:00:00Z') })).toEqual(expected(unpaid, qr, paid, closed));
    expect(await listed({ userId: 'nobody' })).toEqual([]);
    // Another tenant's listing shows none of them.
    expect(await list(await newTenant(h, 't-lo'))).toEqual({ orders: [], nextPageToken: '' });
  });

  it("When a user's own orders are listed, then they come newest first, page by page, as plain orders", async () => {
    const tenant = await newTenant(h, 't-lo');
    const mine: PayOrder[] = [];
    for (let i = 0; i < 5; i++) {
      mine.push(await createOrder(h, tenant, { userId: 'carol' }));
      await createOrder(h, tenant, { userId: 'dave' });
    }
    const paid = await paidOrder(h, tenant, 700n);
    await h.call('refund', { order: ref(paid), outRefundNo: uniq('RF'), amount: 100n, reason: '' });
    await h.service.deps.db.payOrder.update({ where: { payNo: paid.payNo }, data: { userId: 'carol' } });

    const pages = await listAll(tenant, { userId: 'carol', pageSize: 2 });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
    const rows = await h.service.deps.db.payOrder.findMany({
      where: { tenantId: tenant, userId: 'carol' },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    expect(rows.map((r) => r.payNo).sort()).toEqual(payNos([...mine, paid]).sort());
    expect(payNos(pages.flat())).toEqual(rows.map((r) => r.payNo));
    const listedPaid = pages.flat().find((o) => o.payNo === paid.payNo)!;
    expect(listedPaid).toMatchObject({
      status: OrderStatus.ORDER_STATUS_PARTIAL_REFUNDED,
      refundedAmount: 100n,
      payWay: PayWay.PAY_WAY_MOCK,
    });
    expect(listedPaid.attempts).toEqual([]);
    expect(listedPaid.refunds).toEqual([]);
  });

  it('When the page size, page token or a filter is bad, then INVALID_ARGUMENT names the field', async () => {
    const tenant = await newTenant(h, 't-lo');
    for (let i = 0; i < 3; i++) await createOrder(h, tenant);
    const { nextPageToken } = await list(tenant, { pageSize: 1 });
    expect(nextPageToken).not.toBe('');
    const field = async (over: Partial<ListOrdersRequest>, t = tenant) =>
      (await grpcError(list(t, over), status.INVALID_ARGUMENT)).metadata.get('field');

    expect(await field({ pageSize: 201 })).toEqual(['page_size']);
    expect(await field({ pageSize: -1 })).toEqual(['page_size']);
    expect(await field({ pageToken: 'not a token' })).toEqual(['page_token']);
    expect(await field({ pageToken: Buffer.from('{"t":1}').toString('base64url') })).toEqual(['page_token']);
    expect(await field({ pageToken: nextPageToken.slice(0, -3) })).toEqual(['page_token']);
    // A token is tied to the filters it was returned for.
    expect(await field({ pageToken: nextPageToken, userId: 'someone' })).toEqual(['page_token']);
    expect(await field({ pageToken: nextPageToken }, await newTenant(h, 't-lo'))).toEqual(['page_token']);
    expect(await field({ statuses: [OrderStatus.ORDER_STATUS_UNSPECIFIED] })).toEqual(['statuses']);
    expect(await field({ statuses: [99 as OrderStatus] })).toEqual(['statuses']);
    expect(await field({ payWays: [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_UNSPECIFIED] })).toEqual(['pay_ways']);
    expect(await field({ createdFrom: new Date('2026-02-01'), createdTo: new Date('2026-01-01') })).toEqual(['created_to']);
    expect(await field({ userId: 'u'.repeat(65) })).toEqual(['user_id']);
    expect(await field({}, '')).toEqual(['tenant_id']);
    // The same token with its own filters and another page size still works.
    expect((await list(tenant, { pageToken: nextPageToken, pageSize: 200 })).orders).toHaveLength(2);
  });
});
