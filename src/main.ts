import { startService } from './bootstrap';
import { ConfigError, loadConfig } from './config';
import { MISSING_FLAGS, missingNodeFlags } from './infra/node-flags';

async function main(): Promise<void> {
  const config = loadConfig();
  const service = await startService(config);
  const missing = missingNodeFlags();
  if (missing.length > 0) {
    service.deps.log.warn({ missing }, MISSING_FLAGS);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.deps.log.info({ signal }, 'draining in-flight calls, then stopping');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        service.deps.log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
