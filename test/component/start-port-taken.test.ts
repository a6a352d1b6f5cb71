import { createServer, type Server } from 'node:net';
import { buildDeps, startService } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { eventually, uniq } from '../support/harness';

/**
 * A CI run saw the harness's sidecar port taken between probing it and binding it (EADDRINUSE). The start then
 * failed with its gRPC server, workers and pools still running. Now a failed start stops what it started, so the
 * process can exit cleanly or try another port (as the harness does).
 */
describe('starting with the HTTP port taken', () => {
  let taken: Server;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('When the sidecar cannot bind, then the start fails with EADDRINUSE and leaves no worker, pool or connection open', async () => {
    const port = (taken.address() as { port: number }).port;
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      QUEUE_PREFIX: `{${uniq('taken')}}`,
      PAYSVC_AUTH_DISABLED: 'true',
      RECONCILE_ENABLED: 'false',
    });
    const deps = buildDeps(config);
    await expect(startService(config, deps)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // Closed when the start has failed, not some time later: a CI run saw two of them still 'ready' here.
    expect([deps.redis.status, deps.queueRedis.status, deps.queueProducerRedis.status]).toEqual(['end', 'end', 'end']);
    const workers = (deps.jobs as unknown as { workers: Array<{ isRunning(): boolean }> }).workers;
    expect(workers.length).toBeGreaterThan(0);
    await eventually(async () => workers.every((w) => !w.isRunning()), 10_000); // their loops end once closed
    await expect(deps.db.$queryRaw`SELECT 1`).rejects.toThrow();
  });
});
