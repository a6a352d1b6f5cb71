import { portFromEnv, runSandbox } from '../kit/main';
import { createMockGateway } from './gateway';

/**
 * `npx tsx sandboxes/mock/main.ts`: the mock channel as a standalone provider (the compose file's `sandbox` service).
 * MOCK_GATEWAY_PORT (default 9100), MOCK_GATEWAY_HOST (default 127.0.0.1), MOCK_CHANNEL_SECRET (required
 * in production; a fixed sandbox secret otherwise), MOCK_PUBLIC_BASE_URL (base of the pay_url handed out).
 */
runSandbox('mock-gateway', 'mock payment gateway', async (log) => {
  const secret = process.env.MOCK_CHANNEL_SECRET ?? (process.env.NODE_ENV === 'production' ? undefined : 'mock-sandbox-secret');
  if (!secret) throw new Error('MOCK_CHANNEL_SECRET is required when NODE_ENV=production');
  const port = portFromEnv('MOCK_GATEWAY_PORT', 9100);

  const gateway = createMockGateway({ secret, publicBaseUrl: process.env.MOCK_PUBLIC_BASE_URL });
  const url = await gateway.listen(port, process.env.MOCK_GATEWAY_HOST ?? '127.0.0.1');
  log.info({ url, api: `${url}/v1`, cashier: `${url}/pay/:outTradeNo` }, 'mock payment gateway listening');
  return gateway;
});
