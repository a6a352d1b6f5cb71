import { z } from 'zod';
import type { ChannelAccount } from '../types';

/**
 * A tenant's account at the mock gateway: like any channel's, registered through the account store. A tenant
 * without one does not have the mock channel; a deployment offers the mock only outside production.
 */
export interface MockAccount extends ChannelAccount {
  channel: 'mock';
  /** Named in every trade, answer and notify; checked like a real channel's merchant id. */
  merchantId: string;
  /** The HMAC secret the gateway shares, for requests, responses and notifies alike. */
  secret: string;
  /** Base URL of the mock gateway, e.g. http://127.0.0.1:9100. */
  gatewayUrl: string;
  /** Public base URL of our notify sidecar; the notify_url is built under it. */
  notifyBaseUrl: string;
}

const url = z.url({ protocol: /^https?$/ });

export const mockAccountSchema = z.object({
  channel: z.literal('mock'),
  merchantId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
  secret: z.string().min(16, 'must be at least 16 characters'),
  gatewayUrl: url,
  notifyBaseUrl: url,
}) satisfies z.ZodType<MockAccount>;
