import { randomUUID } from 'node:crypto';
import { saveChannelAccount } from '../../src/app/channel-accounts';
import { createAlipaySandbox, generateAlipaySandboxKeys, type AlipaySandbox } from '../../sandboxes/alipay';
import { signForm } from '../../sandboxes/alipay/protocol';
import { normalizePrivateKey } from '../../src/channels/alipay/keys';
import { createWechatSandbox, generateWechatSandboxKeys, type WechatSandbox } from '../../sandboxes/wechat';
import { PlatformSigner } from '../../sandboxes/wechat/protocol';
import { encryptResource, randomNonce } from '../../src/channels/wechat/signing';
import { SecretBox } from '../../src/infra/secret-box';
import type { Harness } from './harness';

/** Notify retries in milliseconds instead of minutes. */
const TIME_SCALE = 1 / 60_000;

export interface AlipayTenant {
  tenantId: string;
  sandbox: AlipaySandbox;
  appId: string;
  sellerId: string;
  /** A form body validly signed with the sandbox's Alipay key, whatever fields it has (or lacks). */
  signedNotify(fields: Record<string, string>): string;
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
  const alipayKeys = generateAlipaySandboxKeys();
  const sandbox = createAlipaySandbox({ timeScale: TIME_SCALE, alipayKeys });
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
  const signingKey = normalizePrivateKey(alipayKeys.privateKey);
  const signedNotify = (fields: Record<string, string>) => new URLSearchParams(signForm(fields, signingKey)).toString();
  return { tenantId, sandbox, appId, sellerId, signedNotify, close: () => sandbox.close() };
}

export interface WechatTenant {
  tenantId: string;
  sandbox: WechatSandbox;
  mchId: string;
  appId: string;
  merchantPublicKey: string;
  /**
   * A notify as WeChat Pay sends it: `resource` encrypted with the tenant's APIv3 key, the body signed with the
   * sandbox's platform key, whatever the resource has (or lacks).
   */
  signedNotify(eventType: string, resource: object, id?: string): { body: string; headers: Record<string, string> };
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
  sandbox.registerMerchant({
    mchId,
    appId,
    merchantSerial: keys.merchantSerial,
    merchantPublicKey: keys.merchantPublicKey,
    apiV3Key: keys.apiV3Key,
  });
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
  const signer = new PlatformSigner(keys.platformPrivateKey, keys.platformPublicKeyId);
  const signedNotify = (eventType: string, resource: object, id: string = randomUUID()) => {
    const nonce = randomNonce(12);
    const originalType = eventType.startsWith('REFUND.') ? 'refund' : 'transaction';
    const body = JSON.stringify({
      id,
      create_time: new Date().toISOString(),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary: 'test',
      resource: {
        original_type: originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encryptResource(JSON.stringify(resource), keys.apiV3Key, nonce, originalType),
        associated_data: originalType,
        nonce,
      },
    });
    return { body, headers: signer.headers(body) };
  };
  return { tenantId, sandbox, mchId, appId, merchantPublicKey: keys.merchantPublicKey, signedNotify, close: () => sandbox.close() };
}
