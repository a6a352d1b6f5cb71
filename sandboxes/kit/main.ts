import pino, { type Logger } from 'pino';

/**
 * Runs a sandbox as its own process (the channels' `main.ts`): `start` builds it and listens; SIGINT or SIGTERM
 * closes it and exits 0; a failure to start is logged and exits 1. `title` names it in those log lines.
 */
export function runSandbox(name: string, title: string, start: (log: Logger) => Promise<{ close(): Promise<void> }>): void {
  const log = pino({ name });
  start(log)
    .then((sandbox) => {
      const stop = (signal: NodeJS.Signals): void => {
        log.info({ signal }, `stopping ${title}`);
        void sandbox.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((err: unknown) => {
      log.fatal({ err }, `${title} failed to start`);
      process.exit(1);
    });
}

/** The port in `process.env[name]` (port 0 = ephemeral), or `fallback` when unset. */
export function portFromEnv(name: string, fallback: number): number {
  const port = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad ${name}: ${port}`);
  return port;
}
