import { z } from 'zod';
import type { AlipayAccount, ChannelAccount, ChannelCall, PayOrderHandler, WechatAccount } from '../channels/types';
import { FailedPreconditionError } from '../domain/errors';
import type { Db } from '../infra/db';
import type { SecretBox } from '../infra/secret-box';
import { findChannelAccount, upsertChannelAccount, type ChannelAccountRow } from '../repo/channel-accounts';
import type { Deps, RequestContext } from './deps';

const pem = (kind: 'PRIVATE' | 'PUBLIC') =>
  z.string().refine((s) => s.includes(`-----BEGIN`) && s.includes(`${kind} KEY-----`), `must be a ${kind.toLowerCase()} key PEM`);
const url = z.url({ protocol: /^https?$/ });

/** What an operator registers; the same shapes as the handlers receive. */
export const accountSchema = z.discriminatedUnion('channel', [
  z.object({
    channel: z.literal('alipay'),
    appId: z.string().regex(/^\d{8,32}$/, 'must be the Alipay app id (digits)'),
    sellerId: z.string().regex(/^(2088\d{12})?$/, 'must be empty or the 16-digit seller id (2088…)'),
    appPrivateKey: pem('PRIVATE'),
    alipayPublicKey: pem('PUBLIC'),
    gatewayUrl: url,
    notifyBaseUrl: url,
  }),
  z.object({
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
  }),
]) satisfies z.ZodType<ChannelAccount>;

const aad = (tenantId: string, channel: string) => `channel_account/${tenantId}/${channel}`;

/** Splits an account into what may be stored in the clear and what is sealed. */
function split(a: ChannelAccount): { appId: string; merchantId: string; settings: object; secrets: object } {
  if (a.channel === 'alipay') {
    const { appPrivateKey, ...settings } = a;
    return { appId: a.appId, merchantId: a.sellerId, settings, secrets: { appPrivateKey } };
  }
  const { merchantPrivateKey, apiV3Key, ...settings } = a;
  return { appId: a.appId, merchantId: a.mchId, settings, secrets: { merchantPrivateKey, apiV3Key } };
}

/** Registers or rotates a tenant's account at a channel; the secret fields are sealed before they are written. */
export async function saveChannelAccount(db: Db, box: SecretBox, tenantId: string, account: ChannelAccount): Promise<number> {
  const parsed = accountSchema.parse(account);
  const { appId, merchantId, settings, secrets } = split(parsed);
  const { keyId, sealed } = box.seal(JSON.stringify(secrets), aad(tenantId, parsed.channel));
  const row = await upsertChannelAccount(db, { tenantId, channel: parsed.channel, appId, merchantId, settings, secrets: sealed, keyId });
  return row.version;
}

/**
 * Reads tenants' channel accounts, opening the sealed fields. A short per-process cache keeps the hot paths off
 * the database; a rotation is seen everywhere within `ttlMs`. Misses are not cached, so a new account works at once.
 */
export class ChannelAccounts {
  private readonly cache = new Map<string, { account: ChannelAccount; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly ttlMs = 30_000,
  ) {}

  async get(tenantId: string, channel: ChannelAccount['channel']): Promise<ChannelAccount | undefined> {
    const key = `${tenantId}/${channel}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.account;
    const row = await findChannelAccount(this.db, tenantId, channel);
    if (!row) return undefined;
    const account = this.open(row);
    this.cache.set(key, { account, until: Date.now() + this.ttlMs });
    return account;
  }

  private open(row: ChannelAccountRow): ChannelAccount {
    const secrets = JSON.parse(this.box.open({ keyId: row.keyId, sealed: row.secrets }, aad(row.tenantId, row.channel)));
    const settings = row.settings as Record<string, unknown>;
    if (row.channel === 'alipay') return { ...settings, ...secrets, channel: 'alipay' } as AlipayAccount;
    return { ...settings, ...secrets, channel: 'wechat' } as WechatAccount;
  }
}

/** The handler of a pay way and the call to make with it for a tenant. */
export async function channelFor(
  deps: Deps,
  tenantId: string,
  payWay: string,
  ctx: RequestContext,
): Promise<{ handler: PayOrderHandler; call: ChannelCall }> {
  const handler = deps.channels.require(payWay);
  return { handler, call: await channelCall(deps.accounts, tenantId, handler, ctx) };
}

/** The channel call for a tenant: its account (none for the mock channel) and the caller's deadline. */
export async function channelCall(
  accounts: ChannelAccounts,
  tenantId: string,
  handler: PayOrderHandler,
  ctx: RequestContext,
): Promise<ChannelCall> {
  if (handler.channel === 'mock') return { signal: ctx.signal };
  const account = await accounts.get(tenantId, handler.channel);
  if (!account) {
    throw new FailedPreconditionError(`tenant ${tenantId} has no ${handler.channel} account configured`, {
      reason: 'CHANNEL_ACCOUNT_MISSING',
      metadata: { tenantId, channel: handler.channel },
    });
  }
  return { signal: ctx.signal, account };
}
