import { credentials, InterceptingCall, Metadata, type Interceptor, type ServiceError, type status } from '@grpc/grpc-js';
import { createServer } from 'node:net';
import { registerTenant } from '../../src/app/tenants';
import { saveChannelAccount } from '../../src/app/channel-accounts';
import { buildDeps, startService, type RunningService } from '../../src/bootstrap';
import type { ChannelModule } from '../../src/channels/channel-module';
import { mockAccountFor, type MockAccount } from '../../src/channels/mock';
import { SecretBox } from '../../src/infra/secret-box';
import { createMockGateway, type MockGateway } from '../../sandboxes/mock';
import { loadConfig } from '../../src/config';
import { mintCaller } from '../../src/grpc/caller-token';
import type { RequestOf, ResponseOf, UnaryMethod } from '../../src/client/unary-call';
import { PaymentServiceClient } from '../../src/gen/payment/v1/payment_service';

export const MOCK_SECRET = 'component-test-mock-secret';

export interface Harness {
  service: RunningService;
  /** The mock gateway's shared secret (MOCK_CHANNEL_SECRET), which tenants' mock accounts carry. */
  mockSecret: string;
  gateway: MockGateway;
  gatewayUrl: string;
  client: PaymentServiceClient;
  notifyBaseUrl: string;
  /** host:port of the gRPC server. */
  address: string;
  /** The bearer token of the harness's caller ("test-harness": every tenant, pay and operate). */
  token: string;
  call: Caller;
  close(): Promise<void>;
}

/** Promise form of a unary call: `await h.call('createOrder', req)`. */
export type Caller = <M extends UnaryMethod>(method: M, req: RequestOf<M>, deadlineMs?: number) => Promise<ResponseOf<M>>;

/** The test caller every harness configures (unless a test sets its own callers); one token per test process. */
export const TEST_CALLER = mintCaller('test-harness', { tenants: '*', permissions: ['pay', 'operate'] });

/** `authorization: Bearer <token>` (and an x-request-id, if given) as call metadata. */
export function bearer(token: string, requestId?: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  if (requestId) md.set('x-request-id', requestId);
  return md;
}

/** A client interceptor that adds the token to every call that does not carry an authorization already. */
export function withToken(token: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        if (metadata.get('authorization').length === 0) metadata.set('authorization', `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/**
 * The real thing on ephemeral ports: the mock channel's gateway, the gRPC server and the notify sidecar over
 * the test MySQL and Redis (from global setup), and a real grpc-js client. A second instance can share the
 * first one's gateway, as two replicas share one channel.
 */
export async function startHarness(
  env: Record<string, string> = {},
  shared?: { gateway: MockGateway; gatewayUrl: string },
  /** The channel modules to build the service with, instead of the deployment default. */
  opts: { channels?: readonly ChannelModule[] } = {},
): Promise<Harness> {
  const gateway = shared?.gateway ?? createMockGateway({ secret: MOCK_SECRET, notifyRetryDelaysMs: [0, 50, 200, 500] });
  const gatewayUrl = shared?.gatewayUrl ?? (await gateway.listen(0, '127.0.0.1'));
  // freePort() closes its probe before the sidecar binds: another process can take the port meanwhile (a CI
  // run saw EADDRINUSE). startService then releases what it started, and the harness tries another port.
  const boot = async () => {
    const httpPort = await freePort();
    const notifyBaseUrl = `http://127.0.0.1:${httpPort}`;
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      DATABASE_URL: process.env.DATABASE_URL,
      // A test's own Redis Cluster (env.REDIS_CLUSTER_NODES) takes the place of the shared Redis.
      ...(env.REDIS_CLUSTER_NODES ? {} : { REDIS_URL: process.env.REDIS_URL }),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      NOTIFY_BASE_URL: notifyBaseUrl,
      MOCK_CHANNEL_ENABLED: 'true',
      MOCK_CHANNEL_SECRET: MOCK_SECRET,
      MOCK_GATEWAY_URL: gatewayUrl,
      CHANNEL_TIMEOUT_MS: '2500', // generous: a loaded CI machine must not turn a slow answer into 'unknown'
      // Generous too: on a loaded machine a fresh pool's first connections can take seconds to open, which is no
      // outage (fault-db-down.test.ts sets the default back).
      DATABASE_ACQUIRE_TIMEOUT_MS: '10000',
      SHUTDOWN_GRACE_MS: '2000',
      // Out of any test's reach: a background status query would take a fault a test injected for its own call
      // (prepay-race.test.ts runs past a minute on a loaded machine, so 60 s was not enough). Tests of sync set
      // their own.
      STATUS_SYNC_DELAYS_MS: '3600000',
      QUEUE_PREFIX: `{${uniq('test')}}`,
      EVENT_QUEUE_PREFIX: `{${uniq('events')}}`,
      EVENT_RETRY_DELAYS_MS: '100,200,400',
      OUTBOX_POLL_MS: '50',
      // The statistics deltas stay pending unless a test folds them (its own tenants only: foldAllStatsDeltas), so
      // one test's fold never changes what another test sees pending; GetStatistics is exact either way.
      STATS_FOLD_MS: '3600000',
      // The daily reconciliation's schedule is tested on its own queue (reconcile-job.test.ts); a harness runs none.
      RECONCILE_ENABLED: 'false',
      ...(env.PAYSVC_CALLERS_FILE || env.PAYSVC_AUTH_DISABLED ? {} : { PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry]) }),
      ...env,
    });
    return { config, notifyBaseUrl, service: await startService(config, buildDeps(config, { channels: opts.channels })) };
  };
  let booted: Awaited<ReturnType<typeof boot>> | undefined;
  for (let tries = 1; !booted; tries++) {
    booted = await boot().catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || tries >= 5) throw err;
      return undefined;
    });
  }
  const { config, notifyBaseUrl, service } = booted;
  const address = `127.0.0.1:${service.grpc.port}`;
  const token = TEST_CALLER.token;
  // The raw client carries the test caller's token too (a call may send its own authorization instead).
  const client = new PaymentServiceClient(address, credentials.createInsecure(), { interceptors: [withToken(token)] });
  // Generous: a call that waits its turn behind others (20 racing refunds) on a loaded machine must not run out.
  const call: Caller = (method, req, deadlineMs = 30_000) =>
    new Promise((resolve, reject) => {
      const fn = client[method] as unknown as (
        r: unknown,
        md: Metadata,
        o: object,
        cb: (e: ServiceError | null, r: unknown) => void,
      ) => void;
      fn.call(client, req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(err) : resolve(res as never),
      );
    });
  return {
    service,
    mockSecret: config.MOCK_CHANNEL_SECRET ?? MOCK_SECRET,
    gateway,
    gatewayUrl,
    client,
    notifyBaseUrl,
    address,
    token,
    call,
    async close() {
      client.close();
      await service.stop();
      if (!shared) await gateway.close();
    },
  };
}

/** Awaits a call that must fail with `code`; returns the error for further checks. */
export async function grpcError(p: Promise<unknown>, code: status): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    if (e.code !== code) throw new Error(`expected gRPC code ${code}, got ${e.code}: ${e.details}`, { cause: err });
    return e;
  }
  throw new Error(`expected gRPC code ${code}, but the call succeeded`);
}

/** Polls `probe` until it returns a truthy value or the time runs out (a bound for a stuck test, not a speed target). */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

let seq = 0;
/** A fresh tenant/out_order_no per test, so tests never see each other's rows. */
export const uniq = (prefix: string): string =>
  `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/**
 * A fresh registered tenant for a test (every RPC for an unknown tenant is NOT_FOUND), with an account at the
 * harness's mock gateway unless `mock: false`. Tests get their tenants only through here.
 */
export async function newTenant(h: Harness, prefix = 't', { mock = true }: { mock?: boolean } = {}): Promise<string> {
  const id = uniq(prefix);
  await registerTenant(h.service.deps.db, { id, name: `test tenant ${id}` });
  if (mock) await saveChannelAccount(h.service.deps.db, SecretBox.development(), id, mockAccount(h, id));
  return id;
}

/**
 * The account a tenant has at the harness's mock gateway: its own merchant id, the gateway's shared secret (as
 * `npm run tenant -- add <id> --mock` makes it, from the harness's settings).
 */
export function mockAccount(h: Pick<Harness, 'gatewayUrl' | 'notifyBaseUrl' | 'mockSecret'>, tenantId: string): MockAccount {
  return mockAccountFor(tenantId, {
    NODE_ENV: 'test',
    MOCK_CHANNEL_SECRET: h.mockSecret,
    MOCK_GATEWAY_URL: h.gatewayUrl,
    NOTIFY_BASE_URL: h.notifyBaseUrl,
  });
}

/**
 * The metadata a raw client (grpcurl, test/strict-client) must send on every call, as 'name: value' headers:
 * the harness caller's bearer token.
 */
export function rawClientHeaders(h: Harness): string[] {
  return [`authorization: Bearer ${h.token}`];
}
