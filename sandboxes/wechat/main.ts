import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { portFromEnv, runSandbox } from '../kit/main';
import { createWechatSandbox } from './gateway';
import { generateWechatSandboxKeys, type WechatSandboxKeys } from './keys';

/** Every key of WechatSandboxKeys (`satisfies` fails the build when one is added there and not here). */
const KEY_NAMES = Object.keys({
  merchantPrivateKey: true,
  merchantPublicKey: true,
  merchantSerial: true,
  platformPrivateKey: true,
  platformPublicKey: true,
  platformPublicKeyId: true,
  apiV3Key: true,
} satisfies Record<keyof WechatSandboxKeys, true>) as (keyof WechatSandboxKeys)[];

/**
 * `npx tsx sandboxes/wechat/main.ts`: the WeChat Pay sandbox for local development.
 * WECHAT_SANDBOX_PORT (default 9200), WECHAT_SANDBOX_HOST (127.0.0.1), WECHAT_SANDBOX_PUBLIC_BASE_URL,
 * WECHAT_SANDBOX_TIME_SCALE (notify retry schedule multiplier, default 1), WECHAT_SANDBOX_MCHID / _APPID,
 * WECHAT_SANDBOX_KEYS_FILE: JSON key material, read if it exists, otherwise generated and written there (0600),
 * so that the tenant account registered with paysvc keeps working across restarts. Never for production.
 */
runSandbox('wechat-sandbox', 'WeChat Pay sandbox', async (log) => {
  if (process.env.NODE_ENV === 'production') throw new Error('the WeChat Pay sandbox is not for production');
  const port = portFromEnv('WECHAT_SANDBOX_PORT', 9200);
  const keysFile = process.env.WECHAT_SANDBOX_KEYS_FILE;
  const keys = keysFile && existsSync(keysFile) ? readKeys(keysFile) : generateWechatSandboxKeys();
  if (keysFile && !existsSync(keysFile)) writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  const mchId = process.env.WECHAT_SANDBOX_MCHID ?? '1900000001';
  const appId = process.env.WECHAT_SANDBOX_APPID ?? 'wxd678efh567hg6787';

  const sandbox = createWechatSandbox({
    platformPrivateKey: keys.platformPrivateKey,
    platformPublicKeyId: keys.platformPublicKeyId,
    timeScale: Number(process.env.WECHAT_SANDBOX_TIME_SCALE ?? 1),
    publicBaseUrl: process.env.WECHAT_SANDBOX_PUBLIC_BASE_URL,
    merchants: [{ mchId, appId, ...pick(keys, 'merchantSerial', 'merchantPublicKey', 'apiV3Key') }],
  });
  const url = await sandbox.listen(port, process.env.WECHAT_SANDBOX_HOST ?? '127.0.0.1');
  const account = { mchId, appId, ...pick(keys, 'merchantSerial', 'platformPublicKeyId'), baseUrl: `${url}/` };
  const kept = keysFile ?? '(in memory only; set WECHAT_SANDBOX_KEYS_FILE to keep them)';
  log.info({ url, account, keysFile: kept }, 'WeChat Pay sandbox listening');
  return sandbox;
});

/** WECHAT_SANDBOX_KEYS_FILE as written above: refused, naming what is missing, unless every key is a non-empty string. */
function readKeys(file: string): WechatSandboxKeys {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const found = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<Record<keyof WechatSandboxKeys, unknown>>;
  const keys: Partial<WechatSandboxKeys> = {};
  const missing: string[] = [];
  for (const name of KEY_NAMES) {
    const value = found[name];
    if (typeof value === 'string' && value !== '') keys[name] = value;
    else missing.push(name);
  }
  if (missing.length > 0) throw new Error(`${file} is no WeChat Pay sandbox key file: no ${missing.join(', ')}`);
  return keys as WechatSandboxKeys; // every key, checked above
}

function pick<K extends keyof WechatSandboxKeys>(keys: WechatSandboxKeys, ...names: K[]): Pick<WechatSandboxKeys, K> {
  return Object.fromEntries(names.map((n) => [n, keys[n]])) as Pick<WechatSandboxKeys, K>;
}
