import type { ChannelAccount } from '../../channels/types';
import { ConcurrencyError, FailedPreconditionError, InvalidArgumentError } from '../../domain/errors';
import type { StatementSource } from '../../reconcile';
import { abandonRun, findRunningRun, insertRunningRun, type RunKey } from '../../repo/reconciliation';
import { isUniqueViolation } from '../../repo/tx';
import type { Deps } from '../deps';

/** What a run needs before it reads anything: a real day, the tenant's statement source and account, and the day claimed. */

export interface RunRequest {
  tenantId: string;
  channel: string;
  day: string;
  actor: string;
  signal?: AbortSignal;
}

/** yyyy-MM-dd, a real date: its Beijing midnight (UTC+8, no DST). */
export function dayStartOf(day: string): Date {
  const at = /^\d{4}-\d{2}-\d{2}$/.test(day) ? new Date(`${day}T00:00:00+08:00`) : undefined;
  if (!at || Number.isNaN(at.getTime()) || new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10) !== day) {
    throw new InvalidArgumentError('day', 'must be a date as yyyy-MM-dd (the Beijing day of the statement)');
  }
  return at;
}

export async function statementsOf(
  deps: Deps,
  tenantId: string,
  channel: string,
): Promise<{ source: StatementSource<ChannelAccount>; account: ChannelAccount }> {
  if (!deps.channels.module(channel)) {
    throw new InvalidArgumentError('channel', `must be a deployed channel (${deps.channels.modules.map((m) => m.name).join(', ')})`);
  }
  const source = deps.channels.statements(channel);
  if (!source) {
    // No reason code of its own yet: the fallback FAILED_PRECONDITION, with the channel in metadata.
    throw new FailedPreconditionError(`channel ${channel} publishes no daily statement to reconcile`, { metadata: { channel } });
  }
  const account = await deps.accounts.get(tenantId, channel);
  if (!account) {
    throw new FailedPreconditionError(`tenant ${tenantId} has no ${channel} account configured`, {
      reason: 'CHANNEL_ACCOUNT_MISSING',
      metadata: { tenantId, channel },
    });
  }
  return { source, account };
}

/**
 * Inserts the day's RUNNING run. Another RUNNING one is a run in progress (ABORTED), unless it started longer
 * ago than RECONCILE_STALE_MS: then its process is gone, it is marked FAILED ('abandoned') and the day taken over.
 */
export async function claimDay(deps: Deps, req: RunRequest, staleMs: number): Promise<RunKey> {
  const key = { tenantId: req.tenantId, channel: req.channel, day: req.day };
  for (let tries = 1; ; tries++) {
    try {
      return { ...key, id: await insertRunningRun(deps.db, { ...key, actor: req.actor, startedAt: deps.now() }) };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const running = await findRunningRun(deps.db, key);
      const now = deps.now();
      const stale = running !== undefined && now.getTime() - running.startedAt.getTime() > staleMs;
      if (running && stale) {
        const why = `abandoned: started ${running.startedAt.toISOString()} and never finished; taken over at ${now.toISOString()}`;
        if (await abandonRun(deps.db, running.id, why, now))
          deps.log.warn({ runId: running.id, ...key }, 'reconciliation run abandoned, taken over');
      }
      if ((running && !stale) || tries >= 3) {
        throw new ConcurrencyError(`a reconciliation of ${req.channel} ${req.day} for tenant ${req.tenantId} is running`, {
          ...key,
          runId: String(running?.id ?? ''),
        });
      }
    }
  }
}
