import type { StatementLine } from '../../reconcile';
import { findAttempt } from '../../repo/pay-orders';
import { type AttemptFacts, type Difference, type RefundFacts, type RunKey, ordersByPayNo } from '../../repo/reconciliation';
import { findRefundByNo } from '../../repo/refunds';
import { applyRefundStatus } from '../apply-refund-status';
import { applyTradeStatus, type ApplyResult } from '../apply-trade-status';
import type { Deps } from '../deps';
import { lineFacts } from './match';
import { recordDifferences } from './record';

/**
 * The changes a statement proves, applied once it has ended cleanly, each through the path a notify takes
 * (cause RECONCILE): the compare-and-set there makes each happen once whatever reruns or crashes, and the
 * difference row that says so is written in the same transaction. Resolves with the difference recorded, or
 * undefined when someone else (a notify, a query) settled it first: then the line simply matches.
 */
export async function applyPayment(
  deps: Deps,
  run: RunKey,
  actor: string,
  line: StatementLine,
  facts: AttemptFacts,
): Promise<Difference | undefined> {
  const attempt = await findAttempt(deps.db, facts.attemptNo);
  if (!attempt) return undefined;
  const status = {
    outcome: 'success' as const,
    channelStatus: `statement ${run.day} line ${line.line}: ${line.status}`,
    channelTradeNo: line.channelTradeNo,
    paidAmount: line.amount,
    currency: line.currency,
    paidAt: line.occurredAt,
  };
  let recorded: Difference | undefined;
  await applyTradeStatus(deps, attempt, status, {
    cause: 'RECONCILE',
    actor,
    inTx: async (tx, result) => {
      recorded = paymentDifference(line, facts, result);
      if (recorded) await recordDifferences(tx, run, [recorded]);
    },
  });
  return recorded;
}

function paymentDifference(line: StatementLine, facts: AttemptFacts, r: ApplyResult): Difference | undefined {
  const at = { ...lineFacts(line), payNo: facts.payNo, attemptNo: facts.attemptNo, localAmount: r.order.amount };
  switch (r.kind) {
    case 'applied':
      return {
        ...at,
        kind: 'PAID_AT_CHANNEL_ONLY',
        resolution: 'APPLIED',
        detail: `paid at the channel, not here: applied; order is ${r.order.status}`,
      };
    case 'doublePayment':
      return {
        ...at,
        kind: 'PAID_AT_CHANNEL_ONLY',
        resolution: 'APPLIED',
        detail: `paid at the channel, not here: applied as DUPLICATE_PAYMENT; order is ${r.order.status} (${r.reason})`,
      };
    case 'mismatch':
      return {
        ...at,
        kind: /amount/.test(r.reason) ? 'AMOUNT_MISMATCH' : 'STATUS_MISMATCH',
        resolution: 'FLAGGED',
        detail: `paid at the channel, not applied: ${r.reason}`,
      };
    case 'unchanged':
      return undefined;
  }
}

/** A refund the channel made that is PENDING here: settled through the refund's own status path. */
export async function applyRefund(
  deps: Deps,
  run: RunKey,
  actor: string,
  line: StatementLine,
  facts: RefundFacts,
): Promise<Difference | undefined> {
  const refund = await findRefundByNo(deps.db, facts.refundNo);
  if (!refund) return undefined;
  const status = {
    outcome: 'success' as const,
    channelStatus: `statement ${run.day} line ${line.line}: ${line.status}`,
    channelRefundNo: line.channelRefundNo,
  };
  let recorded: Difference | undefined;
  await applyRefundStatus(deps, refund, status, { cause: 'RECONCILE', actor }, async (tx, changed) => {
    recorded = undefined;
    if (!changed) return;
    const order = (await ordersByPayNo(tx, [refund.payNo])).get(refund.payNo);
    recorded = {
      ...lineFacts(line),
      payNo: refund.payNo,
      attemptNo: refund.attemptNo,
      refundNo: refund.refundNo,
      localAmount: refund.amount,
      kind: 'STATUS_MISMATCH',
      resolution: 'APPLIED',
      detail: `refunded at the channel, PENDING here: applied; refund is SUCCESS, order is ${order?.status ?? '?'}`,
    };
    await recordDifferences(tx, run, [recorded]);
  });
  return recorded;
}
