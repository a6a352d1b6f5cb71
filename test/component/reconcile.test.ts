import { status } from '@grpc/grpc-js';
import { toServiceError } from '../../src/grpc/errors';
import { reconcileDay, type ReconRun } from '../../src/app/reconcile';
import { ConcurrencyError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../src/domain/errors';
import { OrderStatus, PayWay, RefundStatus, type PayOrder } from '../../src/gen/payment/v1/types';
import {
  StatementFormatError,
  StatementStream,
  type StatementLine,
  type StatementSource,
  type StatementSummary,
} from '../../src/reconcile';
import type { ChannelAccount } from '../../src/channels/types';
import { alipayTenant, wechatTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { beijingToday } from '../support/statements';

/**
 * Statement reconciliation (issue 15) against the real sandboxes: trades paid, refunded, paid at the channel
 * without a notify, and each hostile statement the sandboxes can serve; every difference checked exactly.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const s of sides) await s.close?.();
  await h.close();
});

type Fault = { kind: string; [k: string]: unknown };

/** One channel as the tests drive it: its sandbox, pay way, and how it loses a notify. */
interface Side {
  name: 'alipay' | 'wechat';
  payWay: PayWay;
  tenantId: string;
  pay(attemptNo: string): void;
  inject(fault: Fault, times?: number): void;
  /** Every later notify of the tenant's trades is lost (WeChat) or fails verification (Alipay): only a statement tells. */
  muteNotifies(): void;
  /** A download the channel refuses, and the code the run's error must carry. */
  failingDownload: { fault: Fault; code: string };
  /** Alipay: the buyer scans, we cancel the order, the buyer pays the closed trade anyway. */
  paysAfterCancel?: (p: Paid) => Promise<void>;
  /** WeChat: a refund the channel made whose notify never reached us: PENDING here. Resolves with its refund_no. */
  refundsSilently?: (p: Paid, amount: bigint) => Promise<string>;
  close?: () => Promise<void>;
}

const sides: Side[] = [];
const statusOf = async (o: PayOrder) => (await h.call('query', { order: ref(o), sync: false })).order!;
const becomes = (o: PayOrder, s: OrderStatus) => eventually(async () => (await statusOf(o)).status === s);
const diffsOf = (run: ReconRun) => h.service.deps.db.reconDifference.findMany({ where: { runId: run.id }, orderBy: { id: 'asc' } });
const eventsOf = (payNo: string) => h.service.deps.db.outboxEvent.findMany({ where: { payNo }, orderBy: { createdAt: 'asc' } });
const reconcile = (side: Side, day: string, actor = 'test:ops') =>
  reconcileDay(h.service.deps, { tenantId: side.tenantId, channel: side.name, day, actor });

async function alipaySide(): Promise<Side> {
  const ali = await alipayTenant(h, await newTenant(h, 't-recali'));
  const side: Side = {
    name: 'alipay',
    payWay: PayWay.PAY_WAY_ALIPAY_QR,
    tenantId: ali.tenantId,
    pay: (n) => ali.sandbox.pay(n),
    inject: (f, times) => ali.sandbox.inject(f as never, times),
    muteNotifies: () => ali.sandbox.inject({ kind: 'badNotifySignature' }, 100_000),
    failingDownload: { fault: { kind: 'statementUrlExpired' }, code: 'DOWNLOAD_FAILED' },
    paysAfterCancel: async (p) => {
      ali.sandbox.scan(p.attemptNo);
      const cancelled = await h.call('cancel', { order: ref(p.order), reason: 'timeout' });
      expect(cancelled.order?.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
      ali.sandbox.inject({ kind: 'successAfterClose' }, 1);
      ali.sandbox.pay(p.attemptNo);
    },
    close: () => ali.close(),
  };
  sides.push(side);
  return side;
}

async function wechatSide(): Promise<Side> {
  const wx = await wechatTenant(h, await newTenant(h, 't-recwx'));
  const side: Side = {
    name: 'wechat',
    payWay: PayWay.PAY_WAY_WECHAT_NATIVE,
    tenantId: wx.tenantId,
    pay: (n) => wx.sandbox.pay(n),
    inject: (f, times) => wx.sandbox.inject(f as never, times),
    muteNotifies: () => wx.sandbox.inject({ kind: 'dropNotify' }, 100_000),
    failingDownload: { fault: { kind: 'statementBadHash' }, code: 'HASH_MISMATCH' },
    refundsSilently: async (p, amount) => {
      wx.sandbox.holdRefunds(true);
      const r = await h.call('refund', { order: ref(p.order), outRefundNo: uniq('RF'), amount, reason: 'reconcile' });
      expect(r.refund!.status).toBe(RefundStatus.REFUND_STATUS_PENDING);
      wx.sandbox.settleRefund(r.refund!.refundNo, 'SUCCESS');
      wx.sandbox.holdRefunds(false);
      return r.refund!.refundNo;
    },
    close: () => wx.close(),
  };
  sides.push(side);
  return side;
}

interface Paid {
  order: PayOrder;
  attemptNo: string;
}

async function prepaid(side: Side, amount: bigint): Promise<Paid> {
  const order = await createOrder(h, side.tenantId, { amount });
  const pre = await h.call('prepay', { order: ref(order), payWay: side.payWay, clientIp: '203.0.113.7', payerId: '' });
  return { order, attemptNo: pre.attemptNo };
}

async function paid(side: Side, amount: bigint): Promise<Paid> {
  const p = await prepaid(side, amount);
  side.pay(p.attemptNo);
  await becomes(p.order, OrderStatus.ORDER_STATUS_SUCCESS);
  return p;
}

async function refunded(side: Side, p: Paid, amount: bigint): Promise<string> {
  const r = await h.call('refund', { order: ref(p.order), outRefundNo: uniq('RF'), amount, reason: 'reconcile' });
  await eventually(
    async () =>
      (await h.call('queryRefund', { tenantId: side.tenantId, outRefundNo: r.refund!.outRefundNo, sync: false })).refund!.status ===
      RefundStatus.REFUND_STATUS_SUCCESS,
  );
  return r.refund!.refundNo;
}

/** What a difference says, in the fields a test compares. */
const shape = (d: Awaited<ReturnType<typeof diffsOf>>[number]) => ({
  kind: d.kind,
  resolution: d.resolution,
  payNo: d.payNo,
  outTradeNo: d.outTradeNo,
  outRefundNo: d.outRefundNo,
  statementAmount: d.statementAmount,
  localAmount: d.localAmount,
});
const byKind = <T extends { kind: string; outTradeNo: string | null; outRefundNo: string | null }>(ds: T[]) =>
  [...ds].sort((a, b) => `${a.kind}/${a.outTradeNo}/${a.outRefundNo}`.localeCompare(`${b.kind}/${b.outTradeNo}/${b.outRefundNo}`));

describe.each([
  ['Alipay', alipaySide],
  ['WeChat Pay', wechatSide],
])('Reconciling a day of %s', (_, makeSide) => {
  let side: Side;
  let a: Paid; // paid, partly refunded: matches
  let b: Paid; // paid: left out of the statement
  let c: Paid; // paid: the statement prints another amount
  let quiet: Paid; // paid at the channel, the notify never reached us
  let late: Paid | undefined; // Alipay: cancelled here, paid at the channel anyway, no notify
  let silentRefund: string | undefined; // WeChat: refunded at the channel, PENDING here
  let refundNo = '';
  let day = '';
  const extraTrade = `X${Date.now()}${Math.floor(Math.random() * 1000)}`;

  beforeAll(async () => {
    side = await makeSide();
    a = await paid(side, 10000n);
    b = await paid(side, 2500n);
    c = await paid(side, 199n);
    refundNo = await refunded(side, a, 3000n);
    side.muteNotifies();
    quiet = await prepaid(side, 777n);
    side.pay(quiet.attemptNo);
    if (side.paysAfterCancel) {
      late = await prepaid(side, 555n);
      await side.paysAfterCancel(late);
    }
    if (side.refundsSilently) silentRefund = await side.refundsSilently(c, 100n);
    day = beijingToday();
  }, 60_000);

  it('When the channel has no statement for the day yet, then the run is NOT_READY with the channel code', async () => {
    side.inject({ kind: 'statementNotReady' });
    const run = await reconcile(side, day);
    expect(run).toMatchObject({ status: 'NOT_READY', running: null, differences: 0, applied: 0 });
    expect(run.error).toContain(side.name === 'alipay' ? 'isp.bill_not_exist' : 'STATEMENT_CREATING');
    expect(run.finishedAt).not.toBeNull();
  });

  it('When the download is refused, then the run is FAILED with the code and nothing is applied', async () => {
    side.inject(side.failingDownload.fault);
    const run = await reconcile(side, day);
    expect(run).toMatchObject({ status: 'FAILED', running: null, differences: 0, applied: 0 });
    expect(run.error).toContain(side.failingDownload.code);
    expect(await diffsOf(run)).toEqual([]);
    expect((await statusOf(quiet.order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
  });

  it('When the statement is refused at its very end (a totals mismatch), then the run is FAILED and nothing it read is applied or recorded', async () => {
    const deps = h.service.deps;
    const saved = deps.reconcile;
    deps.reconcile = { staleMs: 3_600_000, batchSize: 1, maxApplies: 1000 }; // every line's batch is read before the end
    const lines: StatementLine[] = [
      fakeLine({ kind: 'payment', outTradeNo: quiet.attemptNo, amount: 777n, line: 2 }), // would be applied
      fakeLine({ kind: 'payment', outTradeNo: 'NOBODY0001', amount: 5n, line: 3 }), // would be UNKNOWN_TRADE
    ];
    const spy = jest.spyOn(deps.channels, 'statements').mockReturnValue(refusedAtEnd(side.name, lines));
    try {
      const run = await reconcile(side, day);
      expect(run).toMatchObject({ status: 'FAILED', differences: 0, applied: 0 });
      expect(run.error).toContain('TOTALS');
      expect(await diffsOf(run)).toEqual([]);
      expect((await statusOf(quiet.order)).status).toBe(OrderStatus.ORDER_STATUS_PAYING);
      expect(await eventsOf(quiet.order.payNo)).toEqual([]);
    } finally {
      spy.mockRestore();
      deps.reconcile = saved;
    }
  });

  it('When a run of the day is RUNNING, then a second one is ABORTED; when that run is stale, it is abandoned and taken over', async () => {
    const db = h.service.deps.db;
    const at = new Date(`${day}T00:00:00Z`);
    const running = await db.reconRun.create({
      data: {
        tenantId: side.tenantId,
        channel: side.name,
        day: at,
        status: 'RUNNING',
        running: true,
        actor: 'test',
        startedAt: new Date(),
      },
    });
    const err = await reconcile(side, day).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect(toServiceError(err, false).error.code).toBe(status.ABORTED);
    await db.reconRun.update({ where: { id: running.id }, data: { startedAt: new Date(Date.now() - 2 * 3_600_000) } });
    side.inject({ kind: 'statementNotReady' }); // the takeover's own run ends at once
    const taken = await reconcile(side, day);
    expect(taken.status).toBe('NOT_READY');
    expect(await db.reconRun.findUniqueOrThrow({ where: { id: running.id } })).toMatchObject({ status: 'FAILED', running: null });
    expect((await db.reconRun.findUniqueOrThrow({ where: { id: running.id } })).error).toMatch(/^abandoned/);
  });

  it('When the statement has a payment we never heard of, one left out, one with another amount and a refund nobody asked for, then each is classified exactly, the silent payment applied once', async () => {
    side.inject({ kind: 'statementMissingTrade', outTradeNo: b.attemptNo });
    side.inject({ kind: 'statementAmountDiffers', outTradeNo: c.attemptNo, delta: 7n });
    side.inject({ kind: 'statementUnknownRefund', outTradeNo: a.attemptNo, outRefundNo: 'RFUNKNOWN1', amount: 50n });
    side.inject({ kind: 'statementExtraTrade', outTradeNo: extraTrade, amount: 4321n });
    const run = await reconcile(side, day);
    const lateLines = late ? 1 : 0;
    const silentLines = silentRefund ? 1 : 0;
    expect(run).toMatchObject({
      status: 'DONE',
      running: null,
      error: null,
      paymentLines: 4 + lateLines, // a, c, quiet, the extra trade (+ late); b is left out
      refundLines: 2 + silentLines, // a's, the unknown one (+ c's silent one)
      matched: 2, // a's payment, a's refund
      applied: 1 + lateLines + silentLines,
      statementAmount: 10000n + 206n + 777n + 4321n + (late ? 555n : 0n),
      statementRefundAmount: 3050n + (silentRefund ? 100n : 0n),
    });
    const diffs = await diffsOf(run);
    const expected: ReturnType<typeof shape>[] = [
      {
        kind: 'AMOUNT_MISMATCH',
        resolution: 'FLAGGED',
        payNo: c.order.payNo,
        outTradeNo: c.attemptNo,
        outRefundNo: null,
        statementAmount: 206n,
        localAmount: 199n,
      },
      {
        kind: 'FEE_MISMATCH',
        resolution: 'REPORTED',
        payNo: a.order.payNo,
        outTradeNo: a.attemptNo,
        outRefundNo: null,
        statementAmount: 10000n,
        localAmount: 10000n,
      },
      {
        kind: 'MISSING_AT_CHANNEL',
        resolution: 'FLAGGED',
        payNo: b.order.payNo,
        outTradeNo: b.attemptNo,
        outRefundNo: null,
        statementAmount: null,
        localAmount: 2500n,
      },
      {
        kind: 'PAID_AT_CHANNEL_ONLY',
        resolution: 'APPLIED',
        payNo: quiet.order.payNo,
        outTradeNo: quiet.attemptNo,
        outRefundNo: null,
        statementAmount: 777n,
        localAmount: 777n,
      },
      {
        kind: 'REFUND_UNKNOWN',
        resolution: 'FLAGGED',
        payNo: a.order.payNo,
        outTradeNo: a.attemptNo,
        outRefundNo: 'RFUNKNOWN1',
        statementAmount: 50n,
        localAmount: null,
      },
      {
        kind: 'UNKNOWN_TRADE',
        resolution: 'FLAGGED',
        payNo: null,
        outTradeNo: extraTrade,
        outRefundNo: null,
        statementAmount: 4321n,
        localAmount: null,
      },
    ];
    if (late) {
      expected.push({
        kind: 'PAID_AT_CHANNEL_ONLY',
        resolution: 'APPLIED',
        payNo: late.order.payNo,
        outTradeNo: late.attemptNo,
        outRefundNo: null,
        statementAmount: 555n,
        localAmount: 555n,
      });
    }
    if (silentRefund) {
      expected.push({
        kind: 'STATUS_MISMATCH',
        resolution: 'APPLIED',
        payNo: c.order.payNo,
        outTradeNo: c.attemptNo,
        outRefundNo: silentRefund,
        statementAmount: 100n,
        localAmount: 100n,
      });
    }
    expect(byKind(diffs.map(shape))).toEqual(byKind(expected));
    expect(run.differences).toBe(expected.length);
    // The fee rule: 0.6 % of 10000 is 60 fen; the statement charged none.
    expect(diffs.find((d) => d.kind === 'FEE_MISMATCH')).toMatchObject({ statementFeeMilliFen: 0n, localFeeMilliFen: 60_000n });
    expect(diffs.find((d) => d.kind === 'MISSING_AT_CHANNEL')!.line).toBeNull();
    expect(diffs.find((d) => d.kind === 'UNKNOWN_TRADE')!.line).toBeGreaterThan(0);
    expect(diffs.find((d) => d.payNo === quiet.order.payNo)!.detail).toContain('order is SUCCESS');

    // The silent payment went through the notify's path: SUCCESS, one PAYMENT_SUCCEEDED, audited as RECONCILE.
    expect((await statusOf(quiet.order)).status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    expect((await eventsOf(quiet.order.payNo)).map((e) => e.type)).toEqual(['PAYMENT_SUCCEEDED']);
    const audit = await h.service.deps.db.orderTransition.findMany({ where: { payNo: quiet.order.payNo, toStatus: 'SUCCESS' } });
    expect(audit).toMatchObject([{ cause: 'RECONCILE', actor: 'test:ops' }]);

    // The order side hears of each flagged difference that names an order, in the same transaction as the row.
    const told = async (p: Paid) => (await eventsOf(p.order.payNo)).filter((e) => e.type === 'RECONCILIATION_DIFFERENCE');
    const kindsTold = async (p: Paid) => (await told(p)).map((e) => (e.payload as { differenceKind: string }).differenceKind);
    expect(await kindsTold(b)).toEqual(['MISSING_AT_CHANNEL']);
    expect(await kindsTold(c)).toEqual(['AMOUNT_MISMATCH']);
    expect(await kindsTold(a)).toEqual(['REFUND_UNKNOWN']); // the fee difference is reported, not told
    expect((await told(b))[0].payload).toMatchObject({
      type: 'PAYMENT_EVENT_TYPE_RECONCILIATION_DIFFERENCE',
      differenceChannel: side.name,
      differenceDay: day,
      reconciliationRunId: String(run.id),
    });

    if (silentRefund) {
      // The refund went through the refund's own path: SUCCESS, the order PARTIAL_REFUNDED, one REFUND_SUCCEEDED.
      expect(diffs.find((d) => d.refundNo === silentRefund)!.detail).toContain('order is PARTIAL_REFUNDED');
      const done = await h.service.deps.db.refund.findUniqueOrThrow({ where: { refundNo: silentRefund } });
      expect(done.status).toBe('SUCCESS');
      expect((await eventsOf(c.order.payNo)).filter((e) => e.type === 'REFUND_SUCCEEDED')).toHaveLength(1);
    }
    if (late) {
      // Cancelled here, paid at Alipay: PAID_AFTER_CLOSE by the usual rule, refunded automatically (the default policy).
      expect(diffs.find((d) => d.payNo === late!.order.payNo)!.detail).toContain('order is PAID_AFTER_CLOSE');
      expect((await eventsOf(late.order.payNo)).map((e) => e.type)).toContain('PAID_AFTER_CLOSE');
      await becomes(late.order, OrderStatus.ORDER_STATUS_REFUNDED);
    }
  }, 60_000);

  it('When the day is reconciled again, then the applied payment matches, nothing more is applied and nobody is told twice', async () => {
    const run = await reconcile(side, day);
    expect(run).toMatchObject({ status: 'DONE', applied: 0 });
    const diffs = await diffsOf(run);
    // Only what is still different: the extra trade is still nobody's; fees are still the statement's zero.
    expect(diffs.filter((d) => d.kind !== 'FEE_MISMATCH').map((d) => [d.kind, d.outTradeNo])).toEqual([['UNKNOWN_TRADE', extraTrade]]);
    expect(diffs.some((d) => d.kind === 'PAID_AT_CHANNEL_ONLY')).toBe(false);
    expect((await eventsOf(quiet.order.payNo)).filter((e) => e.type === 'PAYMENT_SUCCEEDED')).toHaveLength(1);
    const lines = 5 + (late ? 1 : 0); // a, b, c, quiet, extra (+ late)
    expect(run.paymentLines).toBe(lines);
    expect(run.matched).toBe(run.paymentLines - 1 + run.refundLines);
    expect(refundNo).not.toBe('');
    // Metrics: runs by channel and status, differences by kind, lines read, durations.
    const metrics = await h.service.deps.metrics.registry.metrics();
    expect(metrics).toMatch(new RegExp(`paysvc_reconcile_runs_total\\{channel="${side.name}",status="DONE"\\} 2`));
    expect(metrics).toMatch(new RegExp(`paysvc_reconcile_differences_total\\{channel="${side.name}",kind="PAID_AT_CHANNEL_ONLY"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`paysvc_reconcile_lines_total\\{channel="${side.name}",kind="payment"\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`paysvc_reconcile_run_duration_seconds_count\\{channel="${side.name}",status="DONE"\\} 2`));
  }, 60_000);
});

describe('Reconciliation refuses what it cannot run', () => {
  it('When the day, tenant or channel is wrong, then INVALID_ARGUMENT, NOT_FOUND or FAILED_PRECONDITION and no run is written', async () => {
    const tenantId = await newTenant(h, 't-recbad');
    const deps = h.service.deps;
    const req = { tenantId, channel: 'alipay', day: '2026-11-29', actor: 'test:ops' };
    await expect(reconcileDay(deps, { ...req, day: '2026-02-30' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(reconcileDay(deps, { ...req, day: '29/11/2026' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(reconcileDay(deps, { ...req, tenantId: 'no-such-tenant-x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(reconcileDay(deps, req)).rejects.toThrow(
      new FailedPreconditionError(`tenant ${tenantId} has no alipay account configured`),
    );
    await expect(reconcileDay(deps, { ...req, channel: 'mock' })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(reconcileDay(deps, { ...req, channel: 'nosuch' })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await deps.db.reconRun.count({ where: { tenantId } })).toBe(0);
  });
});

function fakeLine(l: Pick<StatementLine, 'kind' | 'outTradeNo' | 'amount' | 'line'>): StatementLine {
  return {
    ...l,
    channel: 'alipay',
    channelTradeNo: `T${l.outTradeNo}`,
    settledAmount: l.amount,
    feeMilliFen: 0n,
    currency: 'CNY',
    status: '交易',
    occurredAt: new Date(),
  };
}

/** A statement source whose file gives these lines, then fails its totals check at the very end. */
function refusedAtEnd(channel: string, lines: StatementLine[]): StatementSource<ChannelAccount> {
  return {
    download: () =>
      Promise.resolve({
        outcome: 'ready',
        file: { kind: 'bytes', bytes: new Uint8Array() },
        parse: () =>
          new StatementStream(async function* (): AsyncGenerator<StatementLine, StatementSummary> {
            for (const l of lines) yield { ...l, channel };
            await Promise.resolve();
            throw new StatementFormatError('TOTALS', 'the footer counts 3 lines, the file has 2', { file: 'fake', line: 4 });
          }),
        dispose: () => Promise.resolve(),
      }),
  };
}
