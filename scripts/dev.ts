// `npm run dev`: from a fresh `npm install` to a working local stack in one command.
//   1. generates the gRPC stubs, the reflection descriptors and the Prisma client when they are missing
//   2. starts MariaDB and Redis (scripts/services.sh: Debian packages, data under .data/)
//   3. applies the migrations
//   4. starts the sandbox channels (mock 9100, Alipay 9101, WeChat Pay 9102; scripts/sandboxes.ts) and the
//      service (GRPC_PORT 50051, HTTP_PORT 8080) in this process
//   5. registers tenant "demo" (the mock channel on, outside production) with the sandbox Alipay and WeChat Pay
//      accounts, then prints what to try.
// The service gets a development caller, "dev" (every tenant, pay and operate), unless PAYSVC_CALLERS(_FILE)
// is set; its token is kept in .data/dev-caller.token (git-ignored, like all of .data) for `npm run demo`.
// Ctrl-C, SIGTERM or SIGHUP (to this process or to npm), or npm's death, stops the service and the sandboxes;
// MariaDB and Redis keep running until `npm run services stop`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunningService } from '../src/bootstrap';
import type { Config } from '../src/config';
import { DEV_TOKEN_FILE, devCallerEnv } from './dev-caller';
import { stopOnSignalOrOrphan } from './lifecycle';
import { ensureDatabase, startLocalServices } from './local-services';
import type { Sandboxes } from './sandboxes';

const ROOT = path.resolve(__dirname, '..');
const SANDBOX_SECRET = 'mock-sandbox-secret';

const say = (msg: string): void => console.log(`[dev] ${msg}`);

class StepError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** Runs one long step with a progress line before and after; a failure carries what to do about it. */
async function step<T>(title: string, hint: string, run: () => Promise<T> | T): Promise<T> {
  say(`${title}…`);
  const started = Date.now();
  try {
    const result = await run();
    say(`${title}: done (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    return result;
  } catch (err) {
    if (err instanceof StepError) throw err;
    throw new StepError(`${title} failed: ${err instanceof Error ? err.message : String(err)}`, hint);
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` exited with ${r.status ?? r.signal}`);
}

function portHint(err: unknown, what: string, envVar: string): string {
  // Node's listen errors carry the code; grpc-js only puts it in the message.
  const inUse = (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err));
  return inUse
    ? `another process holds the ${what} port (another \`npm run dev\`, \`npm start\` or \`npm run sandbox\`?): ` +
        `stop it, or pick another port with ${envVar}=…`
    : `see the error above`;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'node_modules'))) {
    throw new StepError('node_modules is missing', 'run `npm install` first, then `npm run dev` again');
  }

  // descriptors.binpb is the newest output (what reflection serves): a checkout generated before it needs it too.
  if (!existsSync(path.join(ROOT, 'src/gen/descriptors.binpb')) || !existsSync(path.join(ROOT, 'src/generated'))) {
    await step(
      'generating gRPC stubs and the Prisma client (npm run generate)',
      'fix the error above (a proto or schema.prisma problem?), then run `npm run generate` by hand to check',
      () => run('npm', ['run', '--silent', 'generate']),
    );
  }

  const local = await step(
    'starting MariaDB and Redis (scripts/services.sh start; the first time installs and initialises them)',
    'read the [services] error above; as a non-root user install the packages first with ' +
      '`sudo apt-get install -y mariadb-server redis-server`; logs are under .data/mariadb and .data/redis',
    startLocalServices,
  );
  const REDIS_URL = local.redisUrl;
  // PAYSVC_DEV_DB: another database on the same server, so a second stack (a test of this script) keeps its
  // tenants and accounts apart from yours.
  const devDb = process.env.PAYSVC_DEV_DB;
  const DATABASE_URL = devDb ? await ensureDatabase(local.databaseUrl, devDb) : local.databaseUrl;
  say(`DATABASE_URL=${DATABASE_URL}`);
  say(`REDIS_URL=${REDIS_URL}`);

  // Imported only now: they load the generated code, which may not have existed a moment ago.
  const { migrate } = await import('../src/infra/migrate');
  const { startSandboxes } = await import('./sandboxes');
  const { registerSandboxTenant } = await import('./sandbox-tenant');
  const { registerTenant } = await import('../src/app/tenants');
  const { saveChannelAccount } = await import('../src/app/channel-accounts');
  const { mockAccountFor } = await import('../src/channels/mock');
  const { loadConfig, secretBox } = await import('../src/config');
  const { startService } = await import('../src/bootstrap');

  await step(
    'applying migrations',
    '`npm run services status` tells whether MariaDB is up; a migration error names the migration to fix',
    async () => {
      const { applied } = await migrate(DATABASE_URL, (msg) => say(`  ${msg}`));
      say(applied.length > 0 ? `  applied ${applied.join(', ')}` : '  database is up to date');
    },
  );

  const secret = process.env.MOCK_CHANNEL_SECRET ?? SANDBOX_SECRET;
  const gatewayPort = Number(process.env.MOCK_GATEWAY_PORT ?? 9100);
  let gateway: Sandboxes | undefined;
  const ports = {
    mock: gatewayPort,
    alipay: Number(process.env.ALIPAY_SANDBOX_PORT ?? 9101),
    wechat: Number(process.env.WECHAT_SANDBOX_PORT ?? 9102),
  };
  const gatewayUrl = await step(
    `starting the sandbox channels (mock ${ports.mock}, Alipay ${ports.alipay}, WeChat Pay ${ports.wechat})`,
    'see the error above',
    async () => {
      try {
        gateway = await startSandboxes({ host: process.env.SANDBOX_HOST ?? '127.0.0.1', ports, mockSecret: secret });
        return gateway.urls.mock;
      } catch (err) {
        throw new StepError(
          `a sandbox could not listen: ${(err as Error).message}`,
          portHint(err, 'sandbox', 'MOCK_GATEWAY_PORT / ALIPAY_SANDBOX_PORT / WECHAT_SANDBOX_PORT'),
        );
      }
    },
  );

  const devCaller = await step('preparing the development caller "dev"', `check that ${DEV_TOKEN_FILE} can be written`, () =>
    devCallerEnv(process.env),
  );

  let config: Config;
  let service: RunningService;
  try {
    config = loadConfig({
      ...process.env,
      ...devCaller.env,
      NODE_ENV: process.env.NODE_ENV ?? 'development',
      DATABASE_URL,
      REDIS_URL,
      MOCK_CHANNEL_ENABLED: process.env.MOCK_CHANNEL_ENABLED ?? 'true',
      MOCK_GATEWAY_URL: gatewayUrl,
      MOCK_CHANNEL_SECRET: secret,
      // The queue board, with a development login (printed below); real deployments set their own.
      BULL_BOARD_USER: process.env.BULL_BOARD_USER ?? 'dev',
      BULL_BOARD_PASSWORD: process.env.BULL_BOARD_PASSWORD ?? 'dev-board-password',
      // The operator console, signed in with the dev caller's token; a development-only secret. Off when caller
      // authentication is (the configuration refuses the console without it).
      ...(['true', '1'].includes(process.env.PAYSVC_AUTH_DISABLED ?? '')
        ? {}
        : { CONSOLE_SECRET: process.env.CONSOLE_SECRET ?? 'dev-console-secret-not-for-production-0123' }),
    });
    const ready = config;
    service = await step(`starting the service (gRPC ${ready.GRPC_PORT}, HTTP ${ready.HTTP_PORT})`, 'see the error above', async () => {
      try {
        return await startService(ready);
      } catch (err) {
        throw new StepError(`the service did not start: ${(err as Error).message}`, portHint(err, 'gRPC or HTTP', 'GRPC_PORT / HTTP_PORT'));
      }
    });
  } catch (err) {
    await gateway?.close();
    throw err instanceof StepError || !(err instanceof Error) || err.name !== 'ConfigError'
      ? err
      : new StepError(err.message, 'fix the environment variables named above (src/config.ts lists them all)');
  }

  const sandboxes = gateway!;
  await step(
    'registering tenant "demo" with the mock channel and the sandbox Alipay and WeChat Pay accounts',
    'see the error above',
    async () => {
      await registerTenant(service.deps.db, { id: 'demo', name: 'Demo shop' });
      // "demo" has the mock through its account, like any channel (as `npm run tenant -- add demo --mock` gives it).
      const mock = mockAccountFor('demo', { ...config, NOTIFY_BASE_URL: `http://127.0.0.1:${service.httpPort}` });
      await saveChannelAccount(service.deps.db, secretBox(config), 'demo', mock);
      await registerSandboxTenant(service.deps.db, secretBox(config), 'demo', sandboxes, `http://127.0.0.1:${service.httpPort}`);
    },
  );

  printNextSteps(service.grpc.port, service.httpPort, gatewayUrl, devCaller.token);

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) {
      say(`${why} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    say(`${why}: stopping the service (draining in-flight calls) and the sandboxes…`);
    // The service first: calls it is draining may still need the gateway.
    service
      .stop()
      .then(() => gateway?.close())
      .then(
        () => {
          say('stopped. MariaDB and Redis are still running: `npm run services stop` stops them.');
          process.exit(0);
        },
        (err: unknown) => {
          console.error(`[dev] unclean shutdown: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
  };
  // The whole stack lives in this process (npm runs it with exec, so npm's SIGINT/SIGTERM land here); a
  // SIGHUP, or npm dying without passing anything on, must not leave it holding the ports.
  stopOnSignalOrOrphan(stop);
}

function printNextSteps(grpcPort: number, httpPort: number, gatewayUrl: string, token: string | undefined): void {
  const grpc = `-H "authorization: Bearer $PAYSVC_TOKEN" localhost:${grpcPort}`;
  const caller = token
    ? `  caller          "dev" (every tenant, pay and operate); its token, also in ${DEV_TOKEN_FILE}:
    export PAYSVC_TOKEN=${token}`
    : `  caller          from PAYSVC_CALLERS / PAYSVC_CALLERS_FILE: export PAYSVC_TOKEN=<your caller's token>`;
  const svc = 'payment.v1.PaymentService';
  const outOrderNo = `demo-${Date.now().toString(36)}`;
  const order = `{"tenant_id":"demo","out_order_no":"${outOrderNo}"}`;
  const createOrder = JSON.stringify({
    tenant_id: 'demo',
    out_order_no: outOrderNo,
    amount: '1999',
    currency: 'CNY',
    subject: 'Demo order',
    notify_topic: 'order.pay.notify',
  });
  console.log(`
paysvc is up.
  gRPC            localhost:${grpcPort}   (plaintext, loopback only; grpc.health.v1, and server reflection unless GRPC_REFLECTION=false)
${caller}
  health          http://localhost:${httpPort}/healthz
  ready           http://localhost:${httpPort}/readyz   (checks MariaDB and Redis)
  mock gateway    ${gatewayUrl}   (signed API under /v1, cashier pages under /pay/<attempt_no>)
  metrics         http://localhost:${httpPort}/metrics
  queues          http://localhost:${httpPort}/admin/queues   (bull-board; user dev, password dev-board-password unless BULL_BOARD_* are set)
  console         http://localhost:${httpPort}/console/orders?tenant=demo   (sign in with the dev caller's token)

Tenant "demo" is registered with the mock channel on; add another (every RPC for an unknown tenant is NOT_FOUND):
  npm run tenant -- add shop-2 --name "Second shop" --mock     npm run tenant -- list

Walk one order per channel through pay, notify, events and a refund, in another terminal:
  npm run demo

Watch the events the order side gets (examples/order-consumer.ts, topic order.pay.notify):
  npx tsx examples/order-consumer.ts order.pay.notify

Try it by hand (https://github.com/fullstorydev/grpcurl):
  grpcurl -plaintext localhost:${grpcPort} list
  grpcurl -plaintext localhost:${grpcPort} describe ${svc}

  # 1. create an order (an identical replay returns the same order)
  grpcurl -plaintext -d '${createOrder}' ${grpc} ${svc}/CreateOrder

  # 2. prepay it with the mock channel: the answer's mockPayUrl is the sandbox cashier
  grpcurl -plaintext -d '{"order":${order},"pay_way":"PAY_WAY_MOCK"}' ${grpc} ${svc}/Prepay

  # 3. pay: open the mockPayUrl in a browser and press "Pay", or
  curl -X POST -H 'Accept: application/json' <mockPayUrl>

  # 4. the gateway notifies the sidecar; the order is now ORDER_STATUS_SUCCESS
  grpcurl -plaintext -d '{"order":${order}}' ${grpc} ${svc}/Query

  # 5. the events for the order side, with their delivery; or stream the order's changes as they happen
  grpcurl -plaintext -d '{"order":${order}}' ${grpc} ${svc}/ListEvents
  grpcurl -plaintext -d '{"order":${order}}' ${grpc} ${svc}/WatchOrder

  # Alipay and WeChat Pay sandboxes too (tenant "demo" has accounts at both): create another order, then
  grpcurl -plaintext -d '{"order":{"tenant_id":"demo","out_order_no":"<new>"},"pay_way":"PAY_WAY_ALIPAY_QR"}' ${grpc} ${svc}/Prepay
  grpcurl -plaintext -d '{"order":{"tenant_id":"demo","out_order_no":"<new>"},"pay_way":"PAY_WAY_WECHAT_NATIVE"}' ${grpc} ${svc}/Prepay
  # open the returned qr_code_url / redirect_url: the sandbox cashier pages have a Pay button

Ctrl-C stops the service and the gateway; MariaDB and Redis keep running (\`npm run services stop\` stops them).
`);
}

main().catch((err: unknown) => {
  if (err instanceof StepError) {
    console.error(`[dev] error: ${err.message}\n[dev] what to do: ${err.hint}`);
  } else {
    console.error(`[dev] error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  process.exit(1);
});
