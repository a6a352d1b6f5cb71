import { stopOnSignalOrOrphan } from '../scripts/lifecycle';

/**
 * How a bench child tells run.ts it is up: one JSON line on stdout. SIGTERM (SIGINT, SIGHUP) stops it cleanly,
 * flushing --cpu-prof, and so does the death of run.ts: a daemon never outlives the bench that started it.
 */
export function announceReady(info: Record<string, unknown>, stop: () => Promise<void>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
  let stopping = false;
  stopOnSignalOrOrphan(() => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

export function failStartup(err: unknown): never {
  console.error(err);
  process.exit(1);
}
