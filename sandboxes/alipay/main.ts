import { readFileSync } from 'node:fs';
import { portFromEnv, runSandbox } from '../kit/main';
import { createAlipaySandbox } from './gateway';
import type { AlipayKeyPair } from './keys';

/**
 * `npx tsx sandboxes/alipay/main.ts`: the Alipay sandbox gateway for local development.
 * ALIPAY_SANDBOX_PORT (default 9200), ALIPAY_SANDBOX_HOST (default 127.0.0.1), ALIPAY_SANDBOX_PUBLIC_BASE_URL;
 * ALIPAY_SANDBOX_PRIVATE_KEY_FILE + ALIPAY_SANDBOX_PUBLIC_KEY_FILE (its "Alipay" pair; generated and logged if absent);
 * ALIPAY_SANDBOX_APP_ID + ALIPAY_SANDBOX_APP_PUBLIC_KEY_FILE (+ ALIPAY_SANDBOX_SELLER_ID): the merchant app to accept.
 * Never for production: it is a fake.
 */
const env = process.env;

runSandbox('alipay-sandbox', 'Alipay sandbox', async (log) => {
  if (env.NODE_ENV === 'production') throw new Error('the Alipay sandbox does not run with NODE_ENV=production');
  const port = portFromEnv('ALIPAY_SANDBOX_PORT', 9200);
  const alipayKeys: AlipayKeyPair | undefined =
    env.ALIPAY_SANDBOX_PRIVATE_KEY_FILE && env.ALIPAY_SANDBOX_PUBLIC_KEY_FILE
      ? {
          privateKey: readFileSync(env.ALIPAY_SANDBOX_PRIVATE_KEY_FILE, 'utf8'),
          publicKey: readFileSync(env.ALIPAY_SANDBOX_PUBLIC_KEY_FILE, 'utf8'),
        }
      : undefined;
  const sandbox = createAlipaySandbox({ alipayKeys, publicBaseUrl: env.ALIPAY_SANDBOX_PUBLIC_BASE_URL });
  if (env.ALIPAY_SANDBOX_APP_ID && env.ALIPAY_SANDBOX_APP_PUBLIC_KEY_FILE) {
    const appPublicKey = readFileSync(env.ALIPAY_SANDBOX_APP_PUBLIC_KEY_FILE, 'utf8');
    sandbox.registerApp({ appId: env.ALIPAY_SANDBOX_APP_ID, appPublicKey, sellerId: env.ALIPAY_SANDBOX_SELLER_ID ?? '2088000000000001' });
  }
  const url = await sandbox.listen(port, env.ALIPAY_SANDBOX_HOST ?? '127.0.0.1');
  log.info({ url, gateway: `${url}/gateway.do`, alipayPublicKey: sandbox.alipayPublicKey }, 'Alipay sandbox listening');
  return sandbox;
});
