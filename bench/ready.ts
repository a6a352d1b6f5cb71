/** How a bench child tells run.ts it is up: one JSON line on stdout. SIGTERM stops it cleanly (flushing --cpu-prof). */
export function announceReady(info: Record<string, unknown>, stop: () => Promise<void>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
  process.once('SIGTERM', () => {
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
