import { z } from 'zod';
import type { ChannelAccount } from '../types';

/** A tenant's Alipay account (classic gateway, RSA2, public-key mode). Keys are PEM. */
export interface AlipayAccount extends ChannelAccount {
  channel: 'alipay';
  appId: string;
  /** The merchant's Alipay user id (seller_id, 2088…); notifies must name it when given. */
  sellerId: string;
  appPrivateKey: string;
  alipayPublicKey: string;
  /** https://openapi.alipay.com/gateway.do in production; the sandbox gateway's URL in dev and tests. */
  gatewayUrl: string;
  /** Public base URL of our notify sidecar, as Alipay must call it. */
  notifyBaseUrl: string;
}

const pem = (kind: 'PRIVATE' | 'PUBLIC') =>
  z.string().refine((s) => s.includes(`-----BEGIN`) && s.includes(`${kind} KEY-----`), `must be a ${kind.toLowerCase()} key PEM`);
const url = z.url({ protocol: /^https?$/ });

/** What an operator registers. */
export const alipayAccountSchema = z.object({
  channel: z.literal('alipay'),
  appId: z.string().regex(/^\d{8,32}$/, 'must be the Alipay app id (digits)'),
  sellerId: z.string().regex(/^(2088\d{12})?$/, 'must be empty or the 16-digit seller id (2088…)'),
  appPrivateKey: pem('PRIVATE'),
  alipayPublicKey: pem('PUBLIC'),
  gatewayUrl: url,
  notifyBaseUrl: url,
}) satisfies z.ZodType<AlipayAccount>;
