import { z } from 'zod';
import type { ChannelAccount } from '../types';

/** A tenant's WeChat Pay API v3 account (direct merchant, WeChat Pay public-key mode). Keys are PEM. */
export interface WechatAccount extends ChannelAccount {
  channel: 'wechat';
  mchId: string;
  appId: string;
  merchantPrivateKey: string;
  /** Serial of the merchant API certificate (hex), sent in Authorization. */
  merchantSerial: string;
  /** WeChat Pay public key and its id (PUB_KEY_ID_…), which responses and notifies are signed with. */
  platformPublicKey: string;
  platformPublicKeyId: string;
  /** 32 ASCII characters: the AES-256-GCM key of notify resources. */
  apiV3Key: string;
  /** https://api.mch.weixin.qq.com/ in production; the sandbox's URL in dev and tests. */
  baseUrl: string;
  notifyBaseUrl: string;
}

const pem = (kind: 'PRIVATE' | 'PUBLIC') =>
  z.string().refine((s) => s.includes(`-----BEGIN`) && s.includes(`${kind} KEY-----`), `must be a ${kind.toLowerCase()} key PEM`);
const url = z.url({ protocol: /^https?$/ });

/** What an operator registers. */
export const wechatAccountSchema = z.object({
  channel: z.literal('wechat'),
  mchId: z.string().regex(/^\d{6,32}$/, 'must be the WeChat Pay merchant id (digits)'),
  appId: z.string().regex(/^wx[0-9a-zA-Z]{6,30}$/, 'must be a WeChat app id (wx…)'),
  merchantPrivateKey: pem('PRIVATE'),
  merchantSerial: z.string().regex(/^[0-9A-Fa-f]{8,64}$/, 'must be the merchant certificate serial (hex)'),
  platformPublicKey: pem('PUBLIC'),
  platformPublicKeyId: z.string().regex(/^PUB_KEY_ID_\w+$/, 'must be the WeChat Pay public key id (PUB_KEY_ID_…)'),
  apiV3Key: z.string().regex(/^[\x21-\x7e]{32}$/, 'must be 32 ASCII characters'),
  baseUrl: url,
  notifyBaseUrl: url,
}) satisfies z.ZodType<WechatAccount>;
