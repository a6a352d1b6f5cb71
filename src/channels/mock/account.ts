import { z } from 'zod';
import type { Config } from '../../config';
import { FailedPreconditionError } from '../../domain/errors';
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

/** What a deployment's mock account is built from: the gateway it talks to and our sidecar's public URL. */
export type MockAccountConfig = Pick<Config, 'NODE_ENV' | 'MOCK_CHANNEL_SECRET' | 'MOCK_GATEWAY_URL' | 'NOTIFY_BASE_URL'>;

/**
 * The mock account this deployment gives a tenant (`npm run tenant -- add <id> --mock`, the dev stack's "demo",
 * the test harness): a merchant id of its own derived from the tenant id, the gateway's shared secret, the
 * gateway, and our notify sidecar. Refused in production, where the mock never runs.
 */
export function mockAccountFor(tenantId: string, config: MockAccountConfig): MockAccount {
  if (config.NODE_ENV === 'production' || !config.MOCK_CHANNEL_SECRET) {
    throw new FailedPreconditionError(
      config.NODE_ENV === 'production'
        ? 'the mock channel is never offered in production (NODE_ENV=production): no mock account saved'
        : 'MOCK_CHANNEL_SECRET is not set: no mock account saved',
      { metadata: { tenantId, channel: 'mock' } },
    );
  }
  return {
    channel: 'mock',
    merchantId: `M-${tenantId}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64),
    secret: config.MOCK_CHANNEL_SECRET,
    gatewayUrl: config.MOCK_GATEWAY_URL,
    notifyBaseUrl: config.NOTIFY_BASE_URL,
  };
}
