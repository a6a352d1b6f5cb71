import type { Config } from '../config';
import { alipayChannel } from './alipay';
import type { ChannelModule } from './channel-module';
import { mockChannel } from './mock';
import { wechatChannel } from './wechat';

/**
 * The one list of channels. The registry, the pay-way catalog (and so the proto numbers on the wire), the
 * sidecar's notify routes, the account store and bootstrap derive from it; adding a channel is adding its
 * folder's module here.
 */
export const KNOWN_CHANNELS: readonly ChannelModule[] = [mockChannel, alipayChannel, wechatChannel];

/**
 * The channels this deployment offers. Real channels always (a tenant uses one once its account there is
 * registered); the mock never in production (loadConfig refuses MOCK_CHANNEL_ENABLED there too), and elsewhere
 * only when enabled.
 */
export function defaultChannels(config: Pick<Config, 'MOCK_CHANNEL_ENABLED' | 'MOCK_CHANNEL_SECRET' | 'NODE_ENV'>): ChannelModule[] {
  const mock = config.MOCK_CHANNEL_ENABLED && config.MOCK_CHANNEL_SECRET !== undefined && config.NODE_ENV !== 'production';
  return KNOWN_CHANNELS.filter((m) => m !== mockChannel || mock);
}
