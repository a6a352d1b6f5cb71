import pino from 'pino';
import { createMockGateway } from './gateway';

/**
 * `npx tsx sandboxes/mock/main.ts`: the mock channel as a standalone provider (the compose file's `sandbox` service).
 * MOCK_GATEWAY_PORT (default 9100), MOCK_GATEWAY_HOST (default 127.0.0.1), MOCK_CHANNEL_SECRET (required
 * in production; a fixed sandbox secret otherwise), MOCK_PUBLIC_BASE_URL (base of the pay_url handed out).
 */
const log = pino({ name: 'mock-gateway' });

async function main(): Promise<void> {
  const secret =
    process.env.MOCK_CHANNEL_SECRET ?? (process.env.NODE_ENV === 'production' ? undefined : 'mock-sandbox-secret');
  if (!secret) throw new Error('MOCK_CHANNEL_SECRET is required when NODE_ENV=production');
  const port = Number(process.env.MOCK_GATEWAY_PORT ?? 9100);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad MOCK_GATEWAY_PORT: ${port}`);

  const gateway = createMockGateway({ secret, publicBaseUrl: process.env.MOCK_PUBLIC_BASE_URL });
  const url = await gateway.listen(port, process.env.MOCK_GATEWAY_HOST ?? '127.0.0.1');
  log.info({ url, api: `${url}/v1`, cashier: `${url}/pay/:outTradeNo` }, 'mock payment gateway listening');

  const stop = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'stopping mock payment gateway');
    void gateway.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'mock payment gateway failed to start');
  process.exit(1);
});
