/**
 * The three sandbox channels together, for `npm run sandbox` and `npm run dev`: the mock gateway, a fake Alipay
 * gateway.do and a fake WeChat Pay v3 API. Their keys (and the demo merchant's) are made once and kept under
 * .data/sandbox/, so a restart keeps working with accounts registered earlier.
 *
 *   npm run sandbox                   starts all three (ports 9100, 9101, 9102) and writes the demo accounts to
 *                                     .data/sandbox/{alipay,wechat}-account.json
 *   npm run tenant -- add demo --mock                                    registers tenant "demo" (mock channel on)
 *   npm run channel:account -- demo .data/sandbox/alipay-account.json     registers one of its accounts
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createAlipaySandbox, generateAlipaySandboxKeys, type AlipaySandbox } from '../sandboxes/alipay';
import { createMockGateway, type MockGateway } from '../sandboxes/mock';
import type { AlipayAccount, WechatAccount } from '../src/channels/types';
import { createWechatSandbox, generateWechatSandboxKeys, type WechatSandbox } from '../sandboxes/wechat';
import { stopOnSignalOrOrphan } from './lifecycle';

/** Under the data directory, like MariaDB's and Redis's (scripts/services.sh): PAYSVC_DATA_DIR moves it. */
export const SANDBOX_DIR = path.resolve(process.env.PAYSVC_DATA_DIR ?? path.join(__dirname, '../.data'), 'sandbox');
const DEMO_ALIPAY = { appId: '2021000000000001', sellerId: '2088000000000001' };
const DEMO_WECHAT = { mchId: '1900000001', appId: 'wxd678efh567hg6787' };

interface SandboxKeys {
  alipayPlatform: ReturnType<typeof generateAlipaySandboxKeys>;
  alipayApp: ReturnType<typeof generateAlipaySandboxKeys>;
  wechat: ReturnType<typeof generateWechatSandboxKeys>;
}

export interface Sandboxes {
  mock: MockGateway;
  alipay: AlipaySandbox;
  wechat: WechatSandbox;
  urls: { mock: string; alipay: string; wechat: string };
  /** The demo merchant's accounts at the two sandboxes, as a tenant registers them. */
  accounts(notifyBaseUrl: string): { alipay: AlipayAccount; wechat: WechatAccount };
  close(): Promise<void>;
}

/** Sandbox keys, made on first use and kept (test and dev keys only, never production). */
function sandboxKeys(dir: string): SandboxKeys {
  const file = path.join(dir, 'keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SandboxKeys;
  const keys = { alipayPlatform: generateAlipaySandboxKeys(), alipayApp: generateAlipaySandboxKeys(), wechat: generateWechatSandboxKeys() };
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

export async function startSandboxes(opts: {
  host: string;
  ports: { mock: number; alipay: number; wechat: number };
  mockSecret: string;
  dir?: string;
}): Promise<Sandboxes> {
  const keys = sandboxKeys(opts.dir ?? SANDBOX_DIR);
  const mock = createMockGateway({ secret: opts.mockSecret });
  const alipay = createAlipaySandbox({
    alipayKeys: keys.alipayPlatform,
    apps: [{ ...DEMO_ALIPAY, appPublicKey: keys.alipayApp.publicKey }],
  });
  const wechat = createWechatSandbox({
    platformPrivateKey: keys.wechat.platformPrivateKey,
    platformPublicKeyId: keys.wechat.platformPublicKeyId,
  });
  const { merchantSerial, merchantPublicKey, apiV3Key } = keys.wechat;
  wechat.registerMerchant({ ...DEMO_WECHAT, merchantSerial, merchantPublicKey, apiV3Key });
  const all = [mock, alipay, wechat];
  try {
    const urls = {
      mock: await mock.listen(opts.ports.mock, opts.host),
      alipay: await alipay.listen(opts.ports.alipay, opts.host),
      wechat: await wechat.listen(opts.ports.wechat, opts.host),
    };
    return {
      mock,
      alipay,
      wechat,
      urls,
      accounts: (notifyBaseUrl) => ({
        alipay: {
          channel: 'alipay',
          ...DEMO_ALIPAY,
          appPrivateKey: keys.alipayApp.privateKey,
          alipayPublicKey: keys.alipayPlatform.publicKey,
          gatewayUrl: `${urls.alipay}/gateway.do`,
          notifyBaseUrl,
        },
        wechat: {
          channel: 'wechat',
          ...DEMO_WECHAT,
          merchantPrivateKey: keys.wechat.merchantPrivateKey,
          merchantSerial: keys.wechat.merchantSerial,
          platformPublicKey: keys.wechat.platformPublicKey,
          platformPublicKeyId: keys.wechat.platformPublicKeyId,
          apiV3Key: keys.wechat.apiV3Key,
          baseUrl: `${urls.wechat}/`,
          notifyBaseUrl,
        },
      }),
      close: async () => {
        await Promise.all(all.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(all.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const sandboxes = await startSandboxes({
    host: env.SANDBOX_HOST ?? '127.0.0.1',
    ports: {
      mock: Number(env.MOCK_GATEWAY_PORT ?? 9100),
      alipay: Number(env.ALIPAY_SANDBOX_PORT ?? 9101),
      wechat: Number(env.WECHAT_SANDBOX_PORT ?? 9102),
    },
    mockSecret: env.MOCK_CHANNEL_SECRET ?? 'mock-sandbox-secret',
  });
  const accounts = sandboxes.accounts(env.NOTIFY_BASE_URL ?? 'http://127.0.0.1:8080');
  for (const channel of ['alipay', 'wechat'] as const) {
    writeFileSync(path.join(SANDBOX_DIR, `${channel}-account.json`), JSON.stringify(accounts[channel], null, 2), { mode: 0o600 });
  }
  console.log(`sandboxes up:
  mock     ${sandboxes.urls.mock}
  alipay   ${sandboxes.urls.alipay}/gateway.do
  wechat   ${sandboxes.urls.wechat}/v3/…
register a tenant and the demo merchant's accounts for it with:
  npm run tenant -- add demo --name "Demo shop" --mock
  npm run channel:account -- demo ${path.relative(process.cwd(), SANDBOX_DIR)}/alipay-account.json
  npm run channel:account -- demo ${path.relative(process.cwd(), SANDBOX_DIR)}/wechat-account.json`);
  let stopping = false;
  stopOnSignalOrOrphan(() => {
    if (stopping) process.exit(1); // asked twice: do not wait
    stopping = true;
    void sandboxes.close().then(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`sandbox failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
