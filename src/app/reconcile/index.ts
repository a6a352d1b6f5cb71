/**
 * Statement reconciliation (issue 15): one run matches a tenant's channel statement for one Beijing day against
 * the books, stores the run and its differences (recon_run, recon_difference), and applies every payment the
 * statement proves and the books lack through the notify's transition path (cause RECONCILE).
 *
 * This file is the contract between the engine (run.ts and its neighbours) and its callers (the daily job, the
 * operate RPCs, the CLI): they import only what is exported here.
 */
import type { ReconRun } from '../../generated/prisma/client';
import type { ChannelName } from '../../channels/types';
import type { Deps } from '../deps';
import { runReconciliation } from './run';

export type { ReconRun };

export interface ReconcileRequest {
  tenantId: string;
  /** A channel whose module has `statements` (alipay, wechat); the mock has none. */
  channel: ChannelName;
  /** yyyy-MM-dd, the channel's (Beijing) day. */
  day: string;
  /** Who asked: `system:reconcile` for the daily job, the caller's name for an operator's run. */
  actor: string;
  signal?: AbortSignal;
}

/**
 * Runs one reconciliation of the day and resolves with its run row as it finished: DONE (with its counts),
 * NOT_READY (the channel has no statement yet: retry later) or FAILED (with `error`). Throws ConcurrencyError
 * (ABORTED) when a run of the same (tenant, channel, day) is RUNNING, NotFoundError / FailedPreconditionError for
 * an unknown tenant or a channel the tenant has no account with or that has no statements.
 */
export function reconcileDay(deps: Deps, req: ReconcileRequest): Promise<ReconRun> {
  return runReconciliation(deps, req);
}
