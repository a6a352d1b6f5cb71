import { KNOWN_CHANNELS } from '../channels';
import type { ChannelModule } from '../channels/channel-module';
import type { ChannelAccount, ChannelCall, PayOrderHandler } from '../channels/types';
import { FailedPreconditionError, InvalidArgumentError } from '../domain/errors';
import type { Db } from '../infra/db';
import type { SecretBox } from '../infra/secret-box';
import { deleteChannelAccount, findChannelAccount, upsertChannelAccount, type ChannelAccountRow } from '../repo/channel-accounts';
import type { Deps, RequestContext } from './deps';

const aad = (tenantId: string, channel: string) => `channel_account/${tenantId}/${channel}`;

function moduleOf(modules: readonly ChannelModule[], channel: unknown): ChannelModule | undefined {
  return modules.find((m) => m.name === channel);
}

/** Splits an account into what may be stored in the clear and what is sealed, as its module says. */
function split(module: ChannelModule, a: ChannelAccount): { appId: string; merchantId: string; settings: object; secrets: object } {
  const secret = new Set<string>(module.account.secretFields);
  const entries = Object.entries(a);
  const { appId, merchantId } = module.account.identity(a);
  return {
    appId,
    merchantId,
    settings: Object.fromEntries(entries.filter(([k]) => !secret.has(k))),
    secrets: Object.fromEntries(entries.filter(([k]) => secret.has(k))),
  };
}

/**
 * Registers or rotates a tenant's account at a channel (one of `modules`, by default every channel this code
 * knows); the account is checked against its module's schema and its secret fields are sealed before they are
 * written.
 */
export async function saveChannelAccount<A extends ChannelAccount>(
  db: Db,
  box: SecretBox,
  tenantId: string,
  account: A,
  modules: readonly ChannelModule[] = KNOWN_CHANNELS,
): Promise<number> {
  const module = moduleOf(modules, account.channel);
  if (!module) throw new InvalidArgumentError('channel', `must be one of ${modules.map((m) => m.name).join(', ')}`);
  const parsed = module.account.schema.parse(account);
  const { appId, merchantId, settings, secrets } = split(module, parsed);
  const { keyId, sealed } = box.seal(JSON.stringify(secrets), aad(tenantId, module.name));
  const row = await upsertChannelAccount(db, { tenantId, channel: module.name, appId, merchantId, settings, secrets: sealed, keyId });
  return row.version;
}

/**
 * Removes a tenant's account at a channel (false when it had none). The tenant loses the channel: at once for a
 * new process, within the cache's TTL for a running one (see ChannelAccounts).
 */
export function removeChannelAccount(db: Db, tenantId: string, channel: string): Promise<boolean> {
  return deleteChannelAccount(db, tenantId, channel);
}

/**
 * Reads tenants' channel accounts, opening the sealed fields. A short per-process cache keeps the hot paths off
 * the database; a rotation is seen everywhere within `ttlMs`. Misses are not cached, so a new account works at once.
 * A stored account of a channel this deployment does not have is no account.
 */
export class ChannelAccounts {
  private readonly cache = new Map<string, { account: ChannelAccount; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly ttlMs = 30_000,
    private readonly modules: readonly ChannelModule[] = KNOWN_CHANNELS,
  ) {}

  async get(tenantId: string, channel: string): Promise<ChannelAccount | undefined> {
    const module = moduleOf(this.modules, channel);
    if (!module) return undefined;
    const key = `${tenantId}/${channel}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.account;
    const row = await findChannelAccount(this.db, tenantId, channel);
    if (!row) return undefined;
    const account = this.open(module, row);
    this.cache.set(key, { account, until: Date.now() + this.ttlMs });
    return account;
  }

  private open(module: ChannelModule, row: ChannelAccountRow): ChannelAccount {
    const secrets = JSON.parse(this.box.open({ keyId: row.keyId, sealed: row.secrets }, aad(row.tenantId, row.channel))) as object;
    const settings = row.settings as Record<string, unknown>;
    return { ...settings, ...secrets, channel: module.name };
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

/** The channel call for a tenant: its account at the handler's channel (required) and the caller's deadline. */
export async function channelCall(
  accounts: ChannelAccounts,
  tenantId: string,
  handler: PayOrderHandler,
  ctx: Pick<RequestContext, 'signal'>,
): Promise<ChannelCall> {
  const account = await accounts.get(tenantId, handler.channel);
  if (!account) {
    throw new FailedPreconditionError(`tenant ${tenantId} has no ${handler.channel} account configured`, {
      reason: 'CHANNEL_ACCOUNT_MISSING',
      metadata: { tenantId, channel: handler.channel },
    });
  }
  return { signal: ctx.signal, account };
}
