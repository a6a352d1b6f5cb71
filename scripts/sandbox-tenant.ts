import { saveChannelAccount } from '../src/app/channel-accounts';
import type { Db } from '../src/infra/db';
import type { SecretBox } from '../src/infra/secret-box';
import type { Sandboxes } from './sandboxes';

/**
 * Registers the sandboxes' demo merchant (its Alipay and WeChat Pay accounts) for `tenantId`, with the notify
 * sidecar at `notifyBaseUrl`: what `npm run dev` does for tenant "demo", and what the demo's test does for its own.
 */
export async function registerSandboxTenant(
  db: Db,
  box: SecretBox,
  tenantId: string,
  sandboxes: Pick<Sandboxes, 'accounts'>,
  notifyBaseUrl: string,
): Promise<void> {
  const accounts = sandboxes.accounts(notifyBaseUrl);
  for (const account of [accounts.alipay, accounts.wechat]) {
    await saveChannelAccount(db, box, tenantId, account);
  }
}
