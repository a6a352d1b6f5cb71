import * as notifies from '../../src/repo/notifies';
import { newTenant, startHarness, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { prepaidOrder } from '../support/orders';

/**
 * A re-delivered notify this instance saw applied is answered from what it remembers of the receipt: no read of the
 * trade, only its DUPLICATE record. What it remembers is exactly the receipt's key (tenant, channel, trade, notify
 * id, byte for byte): anything else is read from the database as before.
 */
let h: Harness;
let TENANT: string;
let OTHER: string;
beforeAll(async () => {
  h = await startHarness();
  TENANT = await newTenant(h, 't-dupes');
  OTHER = await newTenant(h, 't-dupes-other');
});
afterAll(() => h.close());

/** A PAYING mock order whose buyer has not paid: the test plays the channel's notifier. */
async function payingAttempt(): Promise<{ payNo: string; attemptNo: string }> {
  const { order, attemptNo } = await prepaidOrder(h, TENANT, 1200n);
  return { payNo: order.payNo, attemptNo };
}

const results = (payNo: string) =>
  h.service.deps.db.notifyRecord.findMany({ where: { payNo }, orderBy: { id: 'asc' } }).then((rows) => rows.map((r) => r.result));

/** POSTs and counts the trade reads it took. */
async function deliver(body: string, tenant = TENANT): Promise<{ status: number; reads: number }> {
  const read = jest.spyOn(notifies, 'findNotifiedAttempt');
  try {
    const res = await postMockNotify(h, tenant, body);
    await res.text();
    return { status: res.status, reads: read.mock.calls.length };
  } finally {
    read.mockRestore();
  }
}

describe('a notify delivered again', () => {
  it('When a notify applied here arrives again and again, then each re-delivery is answered and recorded without reading the trade', async () => {
    const { payNo, attemptNo } = await payingAttempt();
    const body = mockPaymentNotify(h, attemptNo);
    expect(await deliver(body)).toEqual({ status: 200, reads: 1 });
    expect(await deliver(body)).toEqual({ status: 200, reads: 0 });
    expect(await deliver(body)).toEqual({ status: 200, reads: 0 });
    expect(await results(payNo)).toEqual(['PROCESSED', 'DUPLICATE', 'DUPLICATE']);
    const metrics = await (await fetch(`${h.notifyBaseUrl}/metrics`)).text();
    expect(metrics).toMatch(/paysvc_notify_total\{channel="mock",result="DUPLICATE"\} [1-9]/);
  });

  it('When the receipt was written by another instance, then the first re-delivery reads it, and the ones after it do not', async () => {
    const { payNo, attemptNo } = await payingAttempt();
    const body = mockPaymentNotify(h, attemptNo);
    const notifyId = (JSON.parse(body) as { notify_id: string }).notify_id;
    // Another instance's work: the order paid and the receipt written, none of it seen by this one.
    await h.service.deps.db.notifyReceipt.create({ data: { channel: 'mock', tenantId: TENANT, attemptNo, notifyId, payNo } });
    expect(await deliver(body)).toEqual({ status: 200, reads: 1 });
    expect(await deliver(body)).toEqual({ status: 200, reads: 0 });
    expect(await results(payNo)).toEqual(['DUPLICATE', 'DUPLICATE']);
  });

  it('When the same notify id comes for another trade, or in other case or with a trailing space, then it is not taken for the one applied', async () => {
    const first = await payingAttempt();
    const notifyId = 'N-shared-id';
    expect(await deliver(mockPaymentNotify(h, first.attemptNo, { notify_id: notifyId }))).toEqual({ status: 200, reads: 1 });
    // Another trade of the same tenant, with the same notify id: a notify of its own, applied.
    const second = await payingAttempt();
    expect(await deliver(mockPaymentNotify(h, second.attemptNo, { notify_id: notifyId }))).toEqual({ status: 200, reads: 1 });
    expect(await results(second.payNo)).toEqual(['PROCESSED']);
    // The first trade again, with ids that differ from the receipt's only in case or a trailing space: never answered
    // from memory; the database decides them as before (the one in other case is a notify of its own, ignored as the
    // order is paid; the receipt's key ignores a trailing space, so that one loses on it and is a duplicate).
    for (const id of [`${notifyId} `, notifyId.toUpperCase()]) {
      expect(await deliver(mockPaymentNotify(h, first.attemptNo, { notify_id: id }))).toEqual({ status: 200, reads: 1 });
    }
    const rows = await h.service.deps.db.notifyRecord.findMany({ where: { payNo: first.payNo }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.notifyId, r.result, r.detail])).toEqual([
      [notifyId, 'PROCESSED', 'order is now SUCCESS'],
      [`${notifyId} `, 'DUPLICATE', 'applied concurrently'],
      [notifyId.toUpperCase(), 'IGNORED', expect.any(String)],
    ]);
  });

  it("When another tenant's URL carries a notify applied for this tenant, then it is refused, not answered as a duplicate", async () => {
    const { payNo, attemptNo } = await payingAttempt();
    const body = mockPaymentNotify(h, attemptNo);
    expect(await deliver(body)).toEqual({ status: 200, reads: 1 });
    // The mock's secret is shared, so the signature holds at OTHER's URL too; OTHER's account refuses the merchant.
    expect((await deliver(body, OTHER)).status).toBe(500);
    expect(await results(payNo)).toEqual(['PROCESSED']);
  });
});
