import type { ChannelAccount } from '../../channels/types';
import { StatementFormatError, type StatementLine, type StatementSource, type StatementSummary } from '../../reconcile';
import {
  attemptsByNo,
  findRun,
  finishRun,
  refundsByNo,
  type AttemptFacts,
  type Difference,
  type RefundFacts,
  type ReconRun,
  type RunKey,
  type RunOutcome,
} from '../../repo/reconciliation';
import { ReconScratch } from '../../repo/recon-scratch';
import { runTx } from '../../repo/tx';
import type { Deps, ReconcileSettings } from '../deps';
import { requireTenant } from '../tenants';
import { claimDay, dayStartOf, statementsOf, type RunRequest } from './claim';
import { applyPayment, applyRefund } from './apply';
import { judgePayment, judgeRefund, lineFacts } from './match';
import { recordDifferences } from './record';

const DEFAULTS: ReconcileSettings = { staleMs: 3_600_000, batchSize: 1000, maxApplies: 1000 };
const DAY_MS = 86_400_000;
/** Differences written per transaction (18 parameters a row: well under the 65,535 a statement may have). */
const PROMOTE_PAGE = 1000;

/**
 * One reconciliation run, as a story: check the request, claim the day (one RUNNING run per tenant, channel and
 * day), download, read the statement in batches (look-ups, verdicts, seen keys and differences staged in the
 * database), and only once it ended cleanly: flag what the books hold and the statement lacks, write the
 * differences with their events, apply what the statement proves. Then finish the run row and report.
 */
export async function runReconciliation(deps: Deps, req: RunRequest): Promise<ReconRun> {
  const dayStart = dayStartOf(req.day);
  await requireTenant(deps, req.tenantId);
  const { source, account } = await statementsOf(deps, req.tenantId, req.channel);
  const settings = { ...DEFAULTS, ...deps.reconcile };
  const run = await claimDay(deps, req, settings.staleMs);
  const began = process.hrtime.bigint();
  let outcome: RunOutcome;
  try {
    outcome = await reconcile(deps, { run, req, source, account, settings, dayStart });
  } catch (err) {
    await finishRun(deps.db, run.id, { ...noCounts(deps), status: 'FAILED', error: `internal: ${(err as Error).message}` }).catch(() => {});
    deps.metrics.reconRuns.inc({ channel: run.channel, status: 'FAILED' });
    throw err;
  }
  await finishRun(deps.db, run.id, outcome);
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  deps.metrics.reconRuns.inc({ channel: run.channel, status: outcome.status });
  deps.metrics.reconDuration.observe({ channel: run.channel, status: outcome.status }, seconds);
  const { finishedAt: _at, ...counts } = outcome;
  deps.log.info(
    { runId: run.id, tenantId: run.tenantId, channel: run.channel, day: run.day, seconds, ...counts },
    `reconciliation ${run.channel} ${run.day}: ${outcome.status}`,
  );
  return findRun(deps.db, run.id);
}

interface RunContext {
  run: RunKey;
  req: RunRequest;
  source: StatementSource<ChannelAccount>;
  account: ChannelAccount;
  settings: ReconcileSettings;
  dayStart: Date;
}

/** What a run counted, and the changes it staged to apply once the statement has ended cleanly. */
class Tally {
  paymentLines = 0;
  refundLines = 0;
  matched = 0;
  differences = 0;
  applied = 0;
  payments: { line: StatementLine; attempt: AttemptFacts }[] = [];
  refunds: { line: StatementLine; refund: RefundFacts }[] = [];
  get staged(): number {
    return this.payments.length + this.refunds.length;
  }
}

async function reconcile(deps: Deps, c: RunContext): Promise<RunOutcome> {
  const download = await c.source.download(c.account, c.run.day, c.req.signal);
  if (download.outcome !== 'ready') {
    const status = download.outcome === 'notReady' ? 'NOT_READY' : 'FAILED';
    return { ...noCounts(deps), status, error: `${download.code}: ${download.reason}` };
  }
  try {
    const scratch = await ReconScratch.open(deps.db);
    try {
      const tally = new Tally();
      const stream = download.parse();
      // One batch is looked up while the parser reads the next: at most two batches in memory, one in flight.
      let inFlight: Promise<void> = Promise.resolve();
      try {
        let batch: StatementLine[] = [];
        for await (const line of stream) {
          batch.push(line);
          if (batch.length < c.settings.batchSize) continue;
          await inFlight;
          inFlight = readBatch(deps, c, scratch, tally, batch);
          inFlight.catch(() => {}); // handled where it is awaited
          batch = [];
          if (c.req.signal?.aborted) {
            await inFlight;
            return { ...counts(deps, tally), status: 'FAILED', error: 'aborted: nothing applied' };
          }
        }
        await inFlight;
        await readBatch(deps, c, scratch, tally, batch);
      } catch (err) {
        await inFlight.catch(() => {}); // the scratch connection must be idle before it is closed
        if (!(err instanceof StatementFormatError)) throw err;
        // The file voids every line it gave: nothing was applied or recorded (staged only, dropped with the scratch).
        return { ...noCounts(deps), status: 'FAILED', error: `statement refused (${err.problem}): ${err.message}` };
      }
      await stageUnseen(c, scratch);
      await promote(deps, c.run, scratch, tally, PROMOTE_PAGE);
      await applyStaged(deps, c, tally);
      return { ...counts(deps, tally), ...totals(stream.summary), status: 'DONE' };
    } finally {
      await scratch.close();
    }
  } finally {
    await download.dispose();
  }
}

/** One batch: one SELECT of attempts, one of refunds, a verdict per line, its keys and differences staged. */
async function readBatch(deps: Deps, c: RunContext, scratch: ReconScratch, tally: Tally, batch: readonly StatementLine[]): Promise<void> {
  if (batch.length === 0) return;
  const { tenantId, channel } = c.run;
  const tradeNos = [...new Set(batch.map((l) => l.outTradeNo))];
  const refundNos = [...new Set(batch.flatMap((l) => (l.kind === 'refund' && l.outRefundNo ? [l.outRefundNo] : [])))];
  const seen = batch.flatMap((l): { kind: 'P' | 'R'; no: string }[] =>
    l.kind === 'payment' ? [{ kind: 'P', no: l.outTradeNo }] : l.outRefundNo ? [{ kind: 'R', no: l.outRefundNo }] : [],
  );
  // The seen keys go in on the scratch connection while the pool answers the look-ups.
  const [, attempts, refunds] = await Promise.all([
    scratch.see(seen),
    attemptsByNo(deps.db, tenantId, tradeNos),
    refundsByNo(deps.db, tenantId, refundNos),
  ]);
  const diffs: Difference[] = [];
  for (const line of batch) {
    const payment = line.kind === 'payment';
    if (payment) tally.paymentLines++;
    else tally.refundLines++;
    const verdict = payment
      ? judgePayment(line, attempts.get(line.outTradeNo), channel)
      : judgeRefund(line, line.outRefundNo ? refunds.get(line.outRefundNo) : undefined, attempts.get(line.outTradeNo), channel);
    if (verdict.kind === 'matched') {
      tally.matched++;
      if (verdict.fee) diffs.push(verdict.fee);
    } else if (verdict.kind === 'difference') {
      diffs.push(verdict.difference);
    } else if (tally.staged >= c.settings.maxApplies) {
      diffs.push(overCap(line, verdict.kind === 'applyPayment' ? verdict.attempt : verdict.refund, c.settings.maxApplies));
    } else if (verdict.kind === 'applyPayment') {
      tally.payments.push({ line, attempt: verdict.attempt });
    } else {
      tally.refunds.push({ line, refund: verdict.refund });
    }
  }
  deps.metrics.reconLines.inc({ channel, kind: 'payment' }, batch.filter((l) => l.kind === 'payment').length);
  deps.metrics.reconLines.inc({ channel, kind: 'refund' }, batch.filter((l) => l.kind === 'refund').length);
  await scratch.stage(diffs);
}

/** A change beyond RECONCILE_MAX_APPLIES: flagged, not applied; the next run (or a person) applies it. */
function overCap(line: StatementLine, ours: AttemptFacts | RefundFacts, cap: number): Difference {
  const refund = 'refundNo' in ours;
  return {
    kind: refund ? 'STATUS_MISMATCH' : 'PAID_AT_CHANNEL_ONLY',
    payNo: ours.payNo,
    attemptNo: ours.attemptNo,
    refundNo: refund ? ours.refundNo : null,
    ...lineFacts(line),
    resolution: 'FLAGGED',
    detail: `${refund ? 'refunded' : 'paid'} at the channel, not here: not applied (over ${cap} applies in one run); rerun the day`,
  };
}

/** What the books hold for the Beijing day and no line named: staged as MISSING_AT_CHANNEL / REFUND_MISSING_AT_CHANNEL. */
async function stageUnseen(c: RunContext, scratch: ReconScratch): Promise<void> {
  const range = { tenantId: c.run.tenantId, channel: c.run.channel, from: c.dayStart, to: new Date(c.dayStart.getTime() + DAY_MS) };
  for await (const page of scratch.unseenPayments(range, c.settings.batchSize)) {
    await scratch.stage(
      page.map((u) => ({
        kind: 'MISSING_AT_CHANNEL' as const,
        payNo: u.payNo,
        attemptNo: u.attemptNo,
        outTradeNo: u.attemptNo,
        channelTradeNo: u.channelTradeNo,
        localAmount: u.amount,
        resolution: 'FLAGGED' as const,
        detail: `paid here at ${u.at.toISOString()}, absent from the ${c.run.channel} statement of ${c.run.day}`,
      })),
    );
  }
  for await (const page of scratch.unseenRefunds(range, c.settings.batchSize)) {
    await scratch.stage(
      page.map((u) => ({
        kind: 'REFUND_MISSING_AT_CHANNEL' as const,
        payNo: u.payNo,
        attemptNo: u.attemptNo,
        refundNo: u.no,
        outTradeNo: u.attemptNo,
        channelTradeNo: u.channelTradeNo,
        outRefundNo: u.no,
        localAmount: u.amount,
        resolution: 'FLAGGED' as const,
        detail: `refund succeeded here at ${u.at.toISOString()}, absent from the ${c.run.channel} statement of ${c.run.day}`,
      })),
    );
  }
}

/** The staged differences into recon_difference, a batch per transaction, each with its events. */
async function promote(deps: Deps, run: RunKey, scratch: ReconScratch, tally: Tally, size: number): Promise<void> {
  for await (const page of scratch.staged(size)) {
    await runTx(deps.db, (tx) => recordDifferences(tx, run, page));
    counted(deps, run, tally, page);
  }
}

async function applyStaged(deps: Deps, c: RunContext, tally: Tally): Promise<void> {
  for (const { line, attempt } of tally.payments) {
    const d = await applyPayment(deps, c.run, c.req.actor, line, attempt);
    settled(deps, c.run, tally, d);
  }
  for (const { line, refund } of tally.refunds) {
    const d = await applyRefund(deps, c.run, c.req.actor, line, refund);
    settled(deps, c.run, tally, d);
  }
}

/** An apply's outcome: a difference (applied, or flagged when the order refused it), or a match (settled meanwhile). */
function settled(deps: Deps, run: RunKey, tally: Tally, d: Difference | undefined): void {
  if (!d) {
    tally.matched++;
    return;
  }
  if (d.resolution === 'APPLIED') tally.applied++;
  counted(deps, run, tally, [d]);
}

function counted(deps: Deps, run: RunKey, tally: Tally, diffs: readonly Difference[]): void {
  tally.differences += diffs.length;
  for (const d of diffs) deps.metrics.reconDifferences.inc({ channel: run.channel, kind: d.kind });
}

function totals(s: StatementSummary): Pick<RunOutcome, 'statementAmount' | 'statementRefundAmount' | 'statementFeeMilliFen'> {
  return {
    statementAmount: s.payments.amount,
    statementRefundAmount: s.refunds.amount,
    statementFeeMilliFen: s.payments.feeMilliFen + s.refunds.feeMilliFen,
  };
}

const counts = (deps: Deps, t: Tally): Omit<RunOutcome, 'status'> => ({
  ...noCounts(deps),
  paymentLines: t.paymentLines,
  refundLines: t.refundLines,
  matched: t.matched,
  differences: t.differences,
  applied: t.applied,
});

const noCounts = (deps: Deps): Omit<RunOutcome, 'status'> => ({
  paymentLines: 0,
  refundLines: 0,
  matched: 0,
  differences: 0,
  applied: 0,
  statementAmount: 0n,
  statementRefundAmount: 0n,
  statementFeeMilliFen: 0n,
  finishedAt: deps.now(),
});
