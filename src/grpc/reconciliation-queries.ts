import { z } from 'zod';
import type { RunRef, ReconciliationStart } from '../app/reconciliation-runs';
import type { PageRequest } from '../app/page-token';
import { InvalidArgumentError } from '../domain/errors';
import { isStatementDay } from '../domain/statement-days';
import type { ReconDifferenceKind } from '../generated/prisma/enums';
import { dayText, type ReconDifference, type ReconRun, type RunFilter } from '../repo/reconciliation-queries';
import {
  ReconciliationDifferenceKind,
  ReconciliationRunStatus,
  type ListReconciliationDifferencesRequest,
  type ListReconciliationRunsRequest,
  type ReconciliationDifference,
  type ReconciliationRun,
  type StartReconciliationRequest,
} from '../gen/payment/v1/reconciliation';
import { parsePage } from './order-queries';
import * as v from './validation';

/** The reconciliation RPCs at the transport: requests checked and turned into queries, rows into messages. */

const day = z.string().refine(isStatementDay, 'must be a calendar day written yyyy-MM-dd');
const optionalDay = z.string().refine((s) => s === '' || isStatementDay(s), 'must be empty or a calendar day written yyyy-MM-dd');
/** A channel's name as stored; which names are real is the use case's to say (the deployment's channels). */
const channel = z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, 'must be a channel name such as alipay or wechat');
const optionalChannel = z
  .string()
  .refine((s) => s === '' || channel.safeParse(s).success, 'must be empty or a channel name such as alipay');

const KIND_PREFIX = 'RECONCILIATION_DIFFERENCE_KIND_';
const STATUS_PREFIX = 'RECONCILIATION_RUN_STATUS_';

export function parseListRuns(req: ListReconciliationRunsRequest): { filter: RunFilter; page: PageRequest } {
  const r = v.parse(
    z
      .object({ tenantId: v.tenantId, channel: optionalChannel, dayFrom: optionalDay, dayTo: optionalDay })
      .refine((x) => !x.dayFrom || !x.dayTo || x.dayTo >= x.dayFrom, { path: ['dayTo'], message: 'must not be before day_from' }),
    { tenantId: req.tenantId, channel: req.channel, dayFrom: req.dayFrom, dayTo: req.dayTo },
  );
  return {
    filter: { tenantId: r.tenantId, channel: r.channel || undefined, dayFrom: r.dayFrom || undefined, dayTo: r.dayTo || undefined },
    page: parsePage(req),
  };
}

export function parseListDifferences(req: ListReconciliationDifferencesRequest): {
  tenantId: string;
  ref: RunRef;
  kinds: ReconDifferenceKind[];
  page: PageRequest;
} {
  const tenantId = v.parse(v.tenantId, req.tenantId, 'tenant_id');
  let ref: RunRef;
  if (req.runId !== 0n) {
    if (req.runId < 0n) throw new InvalidArgumentError('run_id', 'must be a run id ListReconciliationRuns returned');
    if (req.channel || req.day)
      throw new InvalidArgumentError(req.channel ? 'channel' : 'day', 'give run_id, or channel and day, not both');
    ref = { runId: req.runId };
  } else {
    if (!req.channel && !req.day) throw new InvalidArgumentError('run_id', 'is required (or channel and day)');
    ref = { channel: v.parse(channel, req.channel, 'channel'), day: v.parse(day, req.day, 'day') };
  }
  const kinds = v.parse(
    z
      .array(z.number())
      .refine(
        (xs) => xs.every((x) => x !== 0 && ReconciliationDifferenceKind[x] !== undefined),
        'must list defined kinds other than RECONCILIATION_DIFFERENCE_KIND_UNSPECIFIED',
      ),
    req.kinds,
    'kinds',
  );
  return {
    tenantId,
    ref,
    kinds: [...new Set(kinds)].map((k) => ReconciliationDifferenceKind[k].slice(KIND_PREFIX.length) as ReconDifferenceKind),
    page: parsePage(req),
  };
}

export function parseStart(req: StartReconciliationRequest): ReconciliationStart {
  return v.parse(z.object({ tenantId: v.tenantId, channel, day }), { tenantId: req.tenantId, channel: req.channel, day: req.day });
}

export const runToProto = (r: ReconRun): ReconciliationRun => ({
  runId: r.id,
  tenantId: r.tenantId,
  channel: r.channel,
  day: dayText(r.day),
  status: ReconciliationRunStatus[`${STATUS_PREFIX}${r.status}`],
  actor: r.actor,
  error: r.error ?? '',
  paymentLines: r.paymentLines,
  refundLines: r.refundLines,
  matched: r.matched,
  differences: r.differences,
  applied: r.applied,
  statementAmount: r.statementAmount,
  statementRefundAmount: r.statementRefundAmount,
  statementFeeMilliFen: r.statementFeeMilliFen,
  startTime: r.startedAt,
  finishTime: r.finishedAt ?? undefined,
});

export const differenceToProto = (d: ReconDifference): ReconciliationDifference => ({
  differenceId: d.id,
  runId: d.runId,
  tenantId: d.tenantId,
  channel: d.channel,
  day: dayText(d.day),
  kind: ReconciliationDifferenceKind[`${KIND_PREFIX}${d.kind}`],
  payNo: d.payNo ?? '',
  attemptNo: d.attemptNo ?? '',
  refundNo: d.refundNo ?? '',
  outTradeNo: d.outTradeNo ?? '',
  channelTradeNo: d.channelTradeNo ?? '',
  outRefundNo: d.outRefundNo ?? '',
  statementAmount: d.statementAmount ?? undefined,
  localAmount: d.localAmount ?? undefined,
  statementFeeMilliFen: d.statementFeeMilliFen ?? undefined,
  localFeeMilliFen: d.localFeeMilliFen ?? undefined,
  line: d.line ?? 0,
  resolution: d.resolution,
  detail: d.detail,
  createTime: d.createdAt,
});
