/**
 * The service under test, as run.ts starts it in its own process: startService on an ephemeral gRPC port,
 * logs silent, the mock channel pointed at BENCH_GATEWAY_URL or, without one, at a sandbox gateway started
 * in this same process (as the component tests do). Prints its ports. With BENCH_PROFILE_FILE, SIGUSR2
 * starts and stops a CPU profile (see profiler.ts).
 */
import { createServer } from 'node:net';
import { saveChannelAccount } from '../src/app/channel-accounts';
import { startService } from '../src/bootstrap';
import { createMockGateway, type MockGateway } from '../sandboxes/mock';
import { loadConfig, secretBox } from '../src/config';
import { BENCH_MOCK_SECRET, benchCallers } from './config';
import { TENANT } from './grpc-frames';
import { installSignalProfiler } from './profiler';
import { announceReady, failStartup } from './ready';

/** The sidecar's port must be known up front: it is in the notify_url handed to the channel. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

async function main(): Promise<void> {
  const profiler = process.env.BENCH_PROFILE_FILE ? installSignalProfiler(process.env.BENCH_PROFILE_FILE) : undefined;
  let gateway: MockGateway | undefined;
  let gatewayUrl = process.env.BENCH_GATEWAY_URL;
  if (!gatewayUrl) {
    gateway = createMockGateway({ secret: BENCH_MOCK_SECRET });
    gatewayUrl = await gateway.listen(0, '127.0.0.1');
  }
  const httpPort = await freePort();
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE,
    // run.ts gives one or the other (BENCH_REDIS_CLUSTER_NODES).
    ...(process.env.REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES } : { REDIS_URL: process.env.REDIS_URL }),
    // run.ts gives every run its own prefixes (queues.ts) and removes their keys at the end.
    QUEUE_PREFIX: process.env.QUEUE_PREFIX,
    EVENT_QUEUE_PREFIX: process.env.EVENT_QUEUE_PREFIX,
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    NOTIFY_BASE_URL: `http://127.0.0.1:${httpPort}`,
    MOCK_CHANNEL_ENABLED: 'true',
    MOCK_CHANNEL_SECRET: BENCH_MOCK_SECRET,
    MOCK_GATEWAY_URL: gatewayUrl,
    SHUTDOWN_GRACE_MS: '2000',
    PAYSVC_CALLERS: benchCallers(),
  });
  const service = await startService(config);
  // The create-no-timeout scenario: CreateOrder without its order-timeout job, to tell the two costs apart.
  if (process.env.BENCH_NO_TIMEOUT_JOBS === '1') service.deps.timeouts = { schedule: () => Promise.resolve() };
  // The bench tenant's account at this gateway: the mock needs one like any channel.
  const mock = { channel: 'mock', merchantId: 'M-bench', secret: BENCH_MOCK_SECRET, gatewayUrl, notifyBaseUrl: config.NOTIFY_BASE_URL };
  await saveChannelAccount(service.deps.db, secretBox(config), TENANT, mock);
  announceReady({ grpcPort: service.grpc.port, httpPort: service.httpPort, gatewayUrl, gatewayInProcess: !!gateway }, async () => {
    await profiler?.finish();
    await service.stop();
    await gateway?.close();
  });
}

main().catch(failStartup);
