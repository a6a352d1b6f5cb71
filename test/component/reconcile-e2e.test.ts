import { OrderStatus, PayWay, TransitionCause, type PayOrder } from '../../src/gen/payment/v1/types';
import { ReconciliationDifferenceKind, ReconciliationRunStatus } from '../../src/gen/payment/v1/reconciliation';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { eventually, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { beijingToday } from '../support/statements';

/**
 * Reconciliation end to end, the way an operator drives it: StartReconciliation queues the day, a worker runs the
 * engine against the Alipay sandbox's statement, and ListReconciliationRuns / ListReconciliationDifferences show
 * what it found; the payment the statement proved is applied (cause RECONCILE) and the order side hears of both.
 */
let h: Harness;
let ali: AlipayTenant;
beforeAll(async () => {
  h = await startHarness();
  ali = await alipayTenant(h, await newTenant(h, 't-recon-e2e'));
});
afterAll(async () => {
  await ali.close();
  await h.close();
});

const statusOf = async (order: PayOrder) => (await h.call('query', { order: ref(order), sync: false })).order!;

async function prepaid(amount: bigint) {
  const order = await createOrder(h, ali.tenantId, { amount });
  const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_ALIPAY_QR, clientIp: '203.0.113.7', payerId: '' });
  return { order, attemptNo: pre.attemptNo };
}

describe('an operator reconciles a day through the API', () => {
  it('When StartReconciliation is called, then a worker runs the day, the runs and differences are listed, the silent payment is applied once and the order side is told', async () => {
    const kept = await prepaid(1200n); // paid, with its notify: matches
    ali.sandbox.pay(kept.attemptNo);
    await eventually(async () => (await statusOf(kept.order)).status === OrderStatus.ORDER_STATUS_SUCCESS);
    const dropped = await prepaid(800n); // paid, then left out of the statement
    ali.sandbox.pay(dropped.attemptNo);
    await eventually(async () => (await statusOf(dropped.order)).status === OrderStatus.ORDER_STATUS_SUCCESS);
    ali.sandbox.inject({ kind: 'badNotifySignature' }, 100_000); // from here on only the statement tells
    const quiet = await prepaid(700n);
    ali.sandbox.pay(quiet.attemptNo);
    ali.sandbox.inject({ kind: 'statementMissingTrade', outTradeNo: dropped.attemptNo });
    const day = beijingToday();

    const started = await h.call('startReconciliation', { tenantId: ali.tenantId, channel: 'alipay', day });
    expect(started).toMatchObject({ tenantId: ali.tenantId, channel: 'alipay', day, jobId: expect.stringMatching(/\S/) });
    const run = await eventually(async () => {
      const { runs } = await h.call('listReconciliationRuns', {
        tenantId: ali.tenantId,
        channel: 'alipay',
        dayFrom: day,
        dayTo: day,
        pageSize: 10,
        pageToken: '',
      });
      return runs.find((r) => r.status === ReconciliationRunStatus.RECONCILIATION_RUN_STATUS_DONE);
    });
    // The sandbox's statement charges no fee where the tenant's ALIPAY_QR fee rule says 7 fen: reported, nothing changed.
    expect(run).toMatchObject({ paymentLines: 2, refundLines: 0, matched: 1, differences: 3, applied: 1, statementAmount: 1900n });

    const { differences } = await h.call('listReconciliationDifferences', {
      tenantId: ali.tenantId,
      runId: 0n,
      channel: 'alipay',
      day,
      kinds: [],
      pageSize: 50,
      pageToken: '',
    });
    expect(differences.map((d) => [d.kind, d.outTradeNo, d.payNo, d.resolution])).toEqual(
      expect.arrayContaining([
        [ReconciliationDifferenceKind.RECONCILIATION_DIFFERENCE_KIND_PAID_AT_CHANNEL_ONLY, quiet.attemptNo, quiet.order.payNo, 'APPLIED'],
        [ReconciliationDifferenceKind.RECONCILIATION_DIFFERENCE_KIND_MISSING_AT_CHANNEL, dropped.attemptNo, dropped.order.payNo, 'FLAGGED'],
        [ReconciliationDifferenceKind.RECONCILIATION_DIFFERENCE_KIND_FEE_MISMATCH, kept.attemptNo, kept.order.payNo, 'REPORTED'],
      ]),
    );
    expect(differences).toHaveLength(3);

    // The silent payment: SUCCESS by the statement, cause RECONCILE, one PAYMENT_SUCCEEDED.
    const applied = await statusOf(quiet.order);
    expect(applied.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    expect(applied.transitions.at(-1)).toMatchObject({
      cause: TransitionCause.TRANSITION_CAUSE_RECONCILE,
      actor: expect.stringMatching(/\S/),
    });
    const db = h.service.deps.db;
    const types = async (payNo: string) =>
      (await db.outboxEvent.findMany({ where: { payNo }, orderBy: { createdAt: 'asc' } })).map((e) => e.type);
    expect(await types(quiet.order.payNo)).toEqual(['PAYMENT_SUCCEEDED']);
    // The payment the channel does not show is flagged to the order side, never undone.
    expect(await types(dropped.order.payNo)).toEqual(['PAYMENT_SUCCEEDED', 'RECONCILIATION_DIFFERENCE']);
    expect((await statusOf(dropped.order)).status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);

    // A second run of the day applies nothing more: every payment now matches (only the fee reports remain).
    await h.call('startReconciliation', { tenantId: ali.tenantId, channel: 'alipay', day });
    const again = await eventually(async () => {
      const { runs } = await h.call('listReconciliationRuns', {
        tenantId: ali.tenantId,
        channel: 'alipay',
        dayFrom: day,
        dayTo: day,
        pageSize: 10,
        pageToken: '',
      });
      const done = runs.filter((r) => r.status === ReconciliationRunStatus.RECONCILIATION_RUN_STATUS_DONE);
      return done.length === 2 ? done[0] : undefined;
    });
    expect(again).toMatchObject({ paymentLines: 3, matched: 3, applied: 0, differences: 3 });
    expect(await types(quiet.order.payNo)).toEqual(['PAYMENT_SUCCEEDED']);
  }, 60_000);
});
