/**
 * `npm run demo`: against the running `npm run dev` stack, one order per channel (mock, Alipay QR, WeChat Pay
 * Native) through its whole life: CreateOrder, Prepay, the sandbox buyer pays, the notify, SUCCESS (watched),
 * PAYMENT_SUCCEEDED at an order-side consumer, a partial refund and its settlement, REFUND_SUCCEEDED, ListEvents.
 *
 * Environment (defaults match `npm run dev`): PAYSVC_ADDRESS (127.0.0.1:50051), PAYSVC_TOKEN (the token of
 * the development caller `npm run dev` keeps in .data/dev-caller.token), REDIS_URL (what
 * `scripts/services.sh env` prints), EVENT_QUEUE_PREFIX ({paysvc-events}), MOCK_GATEWAY_URL, ALIPAY_SANDBOX_URL,
 * WECHAT_SANDBOX_URL (http://127.0.0.1:9100, :9101, :9102), DEMO_TENANT (demo), DEMO_TIMEOUT_MS (15000).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { readDevToken } from './dev-caller';
import { runDemo, type DemoOptions } from './demo/run-demo';
import { DemoError } from './demo/steps';

export { runDemo, type DemoOptions, type DemoResult, type Print } from './demo/run-demo';

/** The Redis `npm run dev` uses: scripts/services.sh prints it (without starting anything). */
function localRedisUrl(): string {
  try {
    const out = execFileSync('bash', [path.join(__dirname, 'services.sh'), 'env'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /^REDIS_URL=(.+)$/m.exec(out)?.[1].trim() ?? 'redis://127.0.0.1:6380';
  } catch {
    return 'redis://127.0.0.1:6380';
  }
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new DemoError(`${name}=${value} is not a positive number of milliseconds`, `fix ${name}`);
  return n;
}

export function optionsFromEnv(env: NodeJS.ProcessEnv): DemoOptions {
  const host = env.SANDBOX_HOST ?? '127.0.0.1';
  return {
    address: env.PAYSVC_ADDRESS ?? '127.0.0.1:50051',
    token: env.PAYSVC_TOKEN ?? readDevToken(),
    redisUrl: env.REDIS_URL ?? localRedisUrl(),
    eventQueuePrefix: env.EVENT_QUEUE_PREFIX ?? '{paysvc-events}',
    sandboxUrls: {
      mock: env.MOCK_GATEWAY_URL ?? `http://${host}:${env.MOCK_GATEWAY_PORT ?? 9100}`,
      alipay: env.ALIPAY_SANDBOX_URL ?? `http://${host}:${env.ALIPAY_SANDBOX_PORT ?? 9101}`,
      wechat: env.WECHAT_SANDBOX_URL ?? `http://${host}:${env.WECHAT_SANDBOX_PORT ?? 9102}`,
    },
    tenantId: env.DEMO_TENANT ?? 'demo',
    timeoutMs: env.DEMO_TIMEOUT_MS ? positive('DEMO_TIMEOUT_MS', env.DEMO_TIMEOUT_MS) : undefined,
  };
}

if (require.main === module) {
  Promise.resolve()
    .then(() => runDemo(optionsFromEnv(process.env), (line) => console.log(line)))
    .then(
      () => process.exit(0),
      (err: unknown) => {
        if (err instanceof DemoError) console.error(`demo failed: ${err.message}\n  what to check: ${err.hint}`);
        else console.error(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        process.exit(1);
      },
    );
}
