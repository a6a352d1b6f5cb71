import { status } from '@grpc/grpc-js';
import type { PayOrder } from '../../src/gen/payment/v1/types';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { paidOrder, ref } from '../support/orders';

/** Issue 11 §3: ListEvents and ListNotifies page like ListOrders (keyset, the token pins the scope); ListRefunds. */
let h: Harness;
let tenant: string;
let first: PayOrder;
let second: PayOrder;
const refundNos: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 'tpage');
  first = await paidOrder(h, tenant, 9000n);
  second = await paidOrder(h, tenant, 5000n);
  for (const [o, amount] of [
    [first, 1000n],
    [second, 500n],
    [first, 2000n],
  ] as const) {
    const { refund } = await h.call('refund', { order: ref(o), outRefundNo: uniq('RF'), amount, reason: 'paging' });
    refundNos.push(refund!.refundNo);
  }
});
afterAll(() => h.close());

const events = (o: PayOrder, pageSize: number, pageToken = '') => h.call('listEvents', { order: ref(o), pageSize, pageToken });
const notifies = (o: PayOrder, pageSize: number, pageToken = '') => h.call('listNotifies', { order: ref(o), pageSize, pageToken });
const refunds = (over: { payNo?: string; outOrderNo?: string; pageSize?: number; pageToken?: string; tenantId?: string }) =>
  h.call('listRefunds', { tenantId: tenant, payNo: '', outOrderNo: '', pageSize: 0, pageToken: '', ...over });

describe('ListEvents pages', () => {
  it('When events are read a page at a time, then the pages together are the whole list in order, the last without a token', async () => {
    const all = await events(first, 0);
    expect(all.nextPageToken).toBe('');
    expect(all.events.map((e) => e.event!.type)).toHaveLength(3); // PAYMENT_SUCCEEDED and two REFUND_SUCCEEDED
    const p1 = await events(first, 2);
    expect(p1.events).toHaveLength(2);
    expect(p1.nextPageToken).not.toBe('');
    const p2 = await events(first, 2, p1.nextPageToken);
    expect(p2.nextPageToken).toBe('');
    expect([...p1.events, ...p2.events].map((e) => e.event!.eventId)).toEqual(all.events.map((e) => e.event!.eventId));
    const versions = all.events.map((e) => e.event!.version);
    expect([...versions].sort((a, b) => (a < b ? -1 : 1))).toEqual(versions);
  });

  it('When a token is used for another order, another list or is not a token, then INVALID_ARGUMENT on page_token', async () => {
    const { nextPageToken } = await events(first, 1);
    expect((await grpcError(events(second, 1, nextPageToken), status.INVALID_ARGUMENT)).details).toContain('page_token');
    expect((await grpcError(notifies(first, 1, nextPageToken), status.INVALID_ARGUMENT)).details).toContain('page_token');
    expect((await grpcError(events(first, 1, 'not-a-token'), status.INVALID_ARGUMENT)).details).toContain('page_token');
    expect((await grpcError(events(first, 201), status.INVALID_ARGUMENT)).details).toContain('page_size');
  });
});

describe('ListNotifies pages', () => {
  it('When notifies are read one per page, then the pages together are the whole list, oldest first', async () => {
    const all = await notifies(first, 0);
    expect(all.notifies.length).toBeGreaterThanOrEqual(1);
    const seen = [];
    let token = '';
    do {
      const page = await notifies(first, 1, token);
      expect(page.notifies.length).toBeLessThanOrEqual(1);
      seen.push(...page.notifies);
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(all.notifies);
  });
});

describe('ListRefunds', () => {
  it("When a tenant's refunds are listed, then every refund comes, oldest first, a page at a time", async () => {
    const p1 = await refunds({ pageSize: 2 });
    expect(p1.refunds.map((r) => r.refundNo)).toEqual(refundNos.slice(0, 2));
    const p2 = await refunds({ pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.refunds.map((r) => r.refundNo)).toEqual(refundNos.slice(2));
    expect(p2.nextPageToken).toBe('');
    expect(p1.refunds[0]).toMatchObject({ payNo: first.payNo, amount: 1000n, reason: 'paging', requestedBy: expect.any(String) });
  });

  it("When one order's refunds are listed (by pay_no or out_order_no), then only its refunds come", async () => {
    const byPayNo = await refunds({ payNo: first.payNo });
    expect(byPayNo.refunds.map((r) => r.refundNo)).toEqual([refundNos[0], refundNos[2]]);
    expect(byPayNo.nextPageToken).toBe('');
    expect((await refunds({ outOrderNo: second.outOrderNo })).refunds.map((r) => r.refundNo)).toEqual([refundNos[1]]);
  });

  it('When the token was for the tenant and is used for one order, then INVALID_ARGUMENT; an unknown order is NOT_FOUND', async () => {
    const { nextPageToken } = await refunds({ pageSize: 1 });
    expect((await grpcError(refunds({ payNo: first.payNo, pageToken: nextPageToken }), status.INVALID_ARGUMENT)).details).toContain(
      'page_token',
    );
    await grpcError(refunds({ outOrderNo: uniq('none') }), status.NOT_FOUND);
    expect((await grpcError(refunds({ payNo: first.payNo, outOrderNo: first.outOrderNo }), status.INVALID_ARGUMENT)).details).toContain(
      'out_order_no',
    );
  });

  it("When another tenant lists refunds, then it sees none of this tenant's, and cannot name its order", async () => {
    const other = await newTenant(h, 'tpage');
    expect((await refunds({ tenantId: other })).refunds).toEqual([]);
    await grpcError(refunds({ tenantId: other, payNo: first.payNo }), status.NOT_FOUND);
  });
});
