import { saveChannelAccount } from '../../src/app/channel-accounts';
import { createAlipaySandbox, generateAlipaySandboxKeys, type AlipaySandbox } from '../../src/channels/alipay/sandbox';
import { createWechatSandbox, generateWechatSandboxKeys, type WechatSandbox } from '../../src/channels/wechat/sandbox';
import { SecretBox } from '../../src/infra/secret-box';
import type { Harness } from './harness';

/** Notify retries in milliseconds instead of minutes. */
const TIME_SCALE = 1 / 60_000;

export interface AlipayTenant {
  tenantId: string;
  sandbox: AlipaySandbox;
  appId: string;
  sellerId: string;
  close(): Promise<void>;
}

/**
 * An Alipay sandbox on an ephemeral port and a tenant whose Alipay account (sealed in MySQL, like any other)
 * points at it, with the sidecar of `h` as its notify base.
 */
export async function alipayTenant(
  h: Harness,
  tenantId: string,
  /** The seller id registered for the tenant, when it should differ from the one the sandbox reports. */
  registeredSellerId?: string,
): Promise<AlipayTenant> {
  const sandbox = createAlipaySandbox({ timeScale: TIME_SCALE });
  const base = await sandbox.listen(0, '127.0.0.1');
  const app = generateAlipaySandboxKeys();
  const appId = `2021${String(Date.now()).slice(-10)}${Math.floor(Math.random() * 100)}`.slice(0, 16);
  const sellerId = '2088000000000001';
  sandbox.registerApp({ appId, appPublicKey: app.publicKey, sellerId });
  await saveChannelAccount(h.service.deps.db, SecretBox.development(), tenantId, {
    channel: 'alipay',
    appId,
    sellerId: registeredSellerId ?? sellerId,
    appPrivateKey: app.privateKey,
    alipayPublicKey: sandbox.alipayPublicKey,
    gatewayUrl: `${base}/gateway.do`,
    notifyBaseUrl: h.notifyBaseUrl,
  });
  return { tenantId, sandbox, appId, sellerId, close: () => sandbox.close() };
}

export interface WechatTenant {
  tenantId: string;
  sandbox: WechatSandbox;
  mchId: string;
  appId: string;
  merchantPublicKey: string;
  close(): Promise<void>;
}

/** A WeChat Pay sandbox on an ephemeral port and a tenant whose merchant account points at it. */
export async function wechatTenant(h: Harness, tenantId: string): Promise<WechatTenant> {
  const keys = generateWechatSandboxKeys();
  const sandbox = createWechatSandbox({
    platformPrivateKey: keys.platformPrivateKey,
    platformPublicKeyId: keys.platformPublicKeyId,
    timeScale: TIME_SCALE,
  });
  const base = await sandbox.listen(0, '127.0.0.1');
  const mchId = '1900000001';
  const appId = 'wxd678efh567hg6787';
  sandbox.registerMerchant({ mchId, appId, merchantSerial: keys.merchantSerial, merchantPublicKey: keys.merchantPublicKey, apiV3Key: keys.apiV3Key });
  await saveChannelAccount(h.service.deps.db, SecretBox.development(), tenantId, {
    channel: 'wechat',
    mchId,
    appId,
    merchantPrivateKey: keys.merchantPrivateKey,
    merchantSerial: keys.merchantSerial,
    platformPublicKey: keys.platformPublicKey,
    platformPublicKeyId: keys.platformPublicKeyId,
    apiV3Key: keys.apiV3Key,
    baseUrl: `${base}/`,
    notifyBaseUrl: h.notifyBaseUrl,
  });
  return { tenantId, sandbox, mchId, appId, merchantPublicKey: keys.merchantPublicKey, close: () => sandbox.close() };
}
