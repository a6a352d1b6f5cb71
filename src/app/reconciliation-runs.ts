import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../domain/errors';
import { beijingDay } from '../domain/statement-days';
import type { ReconDifferenceKind } from '../generated/prisma/enums';
import {
  dayText,
  findNewestFinishedRun,
  findRun,
  listDifferencesAfter,
  listRunsBefore,
  type ReconDifference,
  type ReconRun,
  type RunFilter,
} from '../repo/reconciliation-queries';
import type { Deps, RequestContext } from './deps';
import { ROW_ID, decodeKeyToken, encodeKeyToken, pageOf, type PageRequest } from './page-token';
import { requireTenant } from './tenants';

/**
 * Reconciliation for operators (the operate RPCs): a tenant's runs, one run's differences, and a run started by
 * hand. Runs themselves are the engine's (src/app/reconcile); a started run goes through the reconciliation queue.
 */

const DAY_KEY = /^\d{4}-\d{2}-\d{2}$/;

/** A channel this deployment can reconcile (one that publishes statements); INVALID_ARGUMENT naming `field` otherwise. */
export function requireStatementChannel(deps: Pick<Deps, 'channels'>, channel: string, field = 'channel'): string {
  const known = deps.channels.withStatements();
  if (!known.includes(channel)) throw new InvalidArgumentError(field, `must be a channel that publishes statements: ${known.join(', ')}`);
  return channel;
}

/** A tenant's runs, newest day first (of one day, the newest run first), a page at a time (keyset on day, id). */
export async function listReconciliationRuns(
  deps: Deps,
  filter: RunFilter,
  page: PageRequest,
): Promise<{ items: ReconRun[]; nextPageToken: string }> {
  if (filter.channel) requireStatementChannel(deps, filter.channel);
  await requireTenant(deps, filter.tenantId);
  const scope = [filter.tenantId, filter.channel ?? '', filter.dayFrom ?? '', filter.dayTo ?? ''];
  const after = page.pageToken ? decodeKeyToken('ListReconciliationRuns', scope, page.pageToken, [DAY_KEY, ROW_ID]) : undefined;
  const rows = await listRunsBefore(deps.db, filter, after && { day: after[0], id: BigInt(after[1]) }, page.pageSize + 1);
  return pageOf(rows, page.pageSize, (last) => encodeKeyToken('ListReconciliationRuns', scope, [dayText(last.day), last.id.toString()]));
}

/** A run by its id, or the newest finished run of a (channel, day). */
export type RunRef = { runId: bigint } | { channel: string; day: string };

/** One run's differences in the order it found them, optionally only some kinds, a page at a time (keyset on id). */
export async function listReconciliationDifferences(
  deps: Deps,
  tenantId: string,
  ref: RunRef,
  kinds: readonly ReconDifferenceKind[],
  page: PageRequest,
): Promise<{ run: ReconRun; items: ReconDifference[]; nextPageToken: string }> {
  if ('channel' in ref) requireStatementChannel(deps, ref.channel);
  await requireTenant(deps, tenantId);
  const run =
    'runId' in ref ? await findRun(deps.db, tenantId, ref.runId) : await findNewestFinishedRun(deps.db, tenantId, ref.channel, ref.day);
  if (!run) {
    const metadata: Record<string, string> =
      'runId' in ref ? { tenantId, runId: ref.runId.toString() } : { tenantId, channel: ref.channel, day: ref.day };
    const what = 'runId' in ref ? `run ${ref.runId}` : `a finished run of ${ref.channel} on ${ref.day}`;
    throw new NotFoundError(`tenant ${tenantId} has no reconciliation ${what}`, { reason: 'RECONCILIATION_RUN_NOT_FOUND', metadata });
  }
  // Bound to the run itself, so a token from (channel, day) keeps reading that run when a newer one finishes.
  const scope = [tenantId, run.id.toString(), [...kinds].sort().join(',')];
  const after = page.pageToken ? BigInt(decodeKeyToken('ListReconciliationDifferences', scope, page.pageToken, [ROW_ID])[0]) : undefined;
  const rows = await listDifferencesAfter(deps.db, run.id, kinds, after, page.pageSize + 1);
  const p = pageOf(rows, page.pageSize, (last) => encodeKeyToken('ListReconciliationDifferences', scope, [last.id.toString()]));
  return { run, ...p };
}

export interface ReconciliationStart {
  tenantId: string;
  channel: string;
  /** yyyy-MM-dd, checked to be a calendar day. */
  day: string;
}

/**
 * Queues an operator's run of the day and answers with its job id. Everything is checked before anything is
 * queued: the channel publishes statements, the day is not after today in Beijing, the tenant is registered and
 * has an account at the channel.
 */
export async function startReconciliation(deps: Deps, req: ReconciliationStart, ctx: RequestContext = {}): Promise<{ jobId: string }> {
  await checkReconciliation(deps, req);
  return deps.reconciliation.startManual({ ...req, actor: ctx.actor ?? 'anonymous' });
}

/** What a run of the day needs, checked in the order of the codes: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION. */
export async function checkReconciliation(
  deps: Pick<Deps, 'channels' | 'now' | 'tenants' | 'accounts'>,
  req: ReconciliationStart,
): Promise<void> {
  requireStatementChannel(deps, req.channel);
  const today = beijingDay(deps.now());
  if (req.day > today) throw new InvalidArgumentError('day', `must not be after today in Beijing (${today})`);
  await requireTenant(deps, req.tenantId);
  if (!(await deps.accounts.get(req.tenantId, req.channel))) {
    throw new FailedPreconditionError(`tenant ${req.tenantId} has no account at ${req.channel}`, {
      reason: 'CHANNEL_ACCOUNT_MISSING',
      metadata: { tenantId: req.tenantId, channel: req.channel },
    });
  }
}
