import { saveChannelAccount } from '../../src/app/channel-accounts';
import { registerTenant } from '../../src/app/tenants';
import { closeDb, createDb } from '../../src/infra/db';
import { SecretBox } from '../../src/infra/secret-box';
import { createAlipaySandbox, generateAlipaySandboxKeys, type AlipaySandbox } from '../../sandboxes/alipay';
import { createMockGateway, type MockGateway } from '../../sandboxes/mock';
import { createWechatSandbox, generateWechatSandboxKeys, type WechatSandbox } from '../../sandboxes/wechat';

export const MOCK_SECRET = 'chaos-run-mock-channel-secret';
export const TENANT = 'chaos';

/**
 * The three sandbox channels, in the run's own process (their books are what the invariants hold paysvc to),
 * with their real notify schedules compressed: minutes become about a second, so retries happen within the run.
 */
export interface Channels {
  mock: MockGateway;
  alipay: AlipaySandbox;
  wechat: WechatSandbox;
  /** Notifies still to be delivered or retried by any of them. */
  notifiesPending(): number;
  close(): Promise<void>;
}

export async function startChannels(): Promise<Channels & { urls: { mock: string; alipay: string; wechat: string }; keys: Keys }> {
  const keys: Keys = {
    alipayPlatform: generateAlipaySandboxKeys(),
    alipayApp: generateAlipaySandboxKeys(),
    wechat: generateWechatSandboxKeys(),
  };
  // Mock: 0, 0.5, 1, 2, 4 s, then every 8 s for about a minute.
  const mock = createMockGateway({
    secret: MOCK_SECRET,
    notifyRetryDelaysMs: [0, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000, 8000],
  });
  // Alipay's 4 m, 10 m, 10 m, 1 h… become 0.4 s, 1 s, 1 s, 6 s, 12 s, 36 s, 90 s.
  const alipay = createAlipaySandbox({ alipayKeys: keys.alipayPlatform, timeScale: 1 / 600 });
  alipay.registerApp({ appId: ALIPAY.appId, sellerId: ALIPAY.sellerId, appPublicKey: keys.alipayApp.publicKey });
  // WeChat's 15 s, 15 s, 30 s, 3 m… become 0.15 s, 0.15 s, 0.3 s, 1.8 s…
  const wechat = createWechatSandbox({
    platformPrivateKey: keys.wechat.platformPrivateKey,
    platformPublicKeyId: keys.wechat.platformPublicKeyId,
    timeScale: 1 / 100,
  });
  wechat.registerMerchant({
    ...WECHAT,
    merchantSerial: keys.wechat.merchantSerial,
    merchantPublicKey: keys.wechat.merchantPublicKey,
    apiV3Key: keys.wechat.apiV3Key,
  });
  const urls = {
    mock: await mock.listen(0, '127.0.0.1'),
    alipay: await alipay.listen(0, '127.0.0.1'),
    wechat: await wechat.listen(0, '127.0.0.1'),
  };
  return {
    mock,
    alipay,
    wechat,
    urls,
    keys,
    notifiesPending: () => mock.notifiesPending() + alipay.notifiesPending() + wechat.notifiesPending(),
    close: async () => {
      await Promise.all([mock.close(), alipay.close(), wechat.close()]);
    },
  };
}

interface Keys {
  alipayPlatform: ReturnType<typeof generateAlipaySandboxKeys>;
  alipayApp: ReturnType<typeof generateAlipaySandboxKeys>;
  wechat: ReturnType<typeof generateWechatSandboxKeys>;
}

const ALIPAY = { appId: '2021000000000777', sellerId: '2088000000000777' };
const WECHAT = { mchId: '1900000777', appId: 'wxd678efh567hg6777' };

/** Registers the run's tenant with an account at each sandbox; notifies come back through `notifyBaseUrl`. */
export async function registerChaosTenant(
  databaseUrl: string,
  channels: Awaited<ReturnType<typeof startChannels>>,
  notifyBaseUrl: string,
): Promise<void> {
  const db = createDb(databaseUrl, 2);
  const box = SecretBox.development();
  const { urls, keys } = channels;
  try {
    await registerTenant(db, { id: TENANT, name: 'Chaos run' });
    await saveChannelAccount(db, box, TENANT, {
      channel: 'mock',
      merchantId: 'M-chaos',
      secret: MOCK_SECRET,
      gatewayUrl: urls.mock,
      notifyBaseUrl,
    });
    await saveChannelAccount(db, box, TENANT, {
      channel: 'alipay',
      ...ALIPAY,
      appPrivateKey: keys.alipayApp.privateKey,
      alipayPublicKey: channels.alipay.alipayPublicKey,
      gatewayUrl: `${urls.alipay}/gateway.do`,
      notifyBaseUrl,
    });
    await saveChannelAccount(db, box, TENANT, {
      channel: 'wechat',
      ...WECHAT,
      merchantPrivateKey: keys.wechat.merchantPrivateKey,
      merchantSerial: keys.wechat.merchantSerial,
      platformPublicKey: keys.wechat.platformPublicKey,
      platformPublicKeyId: keys.wechat.platformPublicKeyId,
      apiV3Key: keys.wechat.apiV3Key,
      baseUrl: `${urls.wechat}/`,
      notifyBaseUrl,
    });
  } finally {
    await closeDb(db);
  }
}
