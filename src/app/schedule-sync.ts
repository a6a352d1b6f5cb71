import type { Deps } from './deps';

/**
 * Best effort: the caller is already answering UNAVAILABLE, so a Redis hiccup here is logged rather than turned
 * into a second failure. An attempt whose sync could not be scheduled is found again by Query with sync=true
 * (the overdue-order sweep of issue 5 will find it without being asked; it does not exist yet).
 */
export async function scheduleSync(deps: Deps, attemptNo: string): Promise<void> {
  try {
    await deps.statusSync.schedule(attemptNo);
  } catch (err) {
    deps.log.warn({ err, attemptNo }, 'could not schedule a status sync');
  }
}
