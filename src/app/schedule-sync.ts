import type { Deps } from './deps';

/**
 * Best effort: the caller is already answering UNAVAILABLE, and the overdue-order sweep finds an attempt whose
 * sync could not be scheduled, so a Redis hiccup here is logged rather than turned into a second failure.
 */
export async function scheduleSync(deps: Deps, attemptNo: string): Promise<void> {
  try {
    await deps.statusSync.schedule(attemptNo);
  } catch (err) {
    deps.log.warn({ err, attemptNo }, 'could not schedule a status sync');
  }
}
