/**
 * Registers or rotates a tenant's channel account from a JSON file:
 *
 *   npm run channel:account -- <tenant-id> <account.json>
 *
 * The file holds the fields of an AlipayAccount or a WechatAccount (src/channels/types.ts) with "channel" set.
 * Any value written "@path" is read from that file (relative to the JSON file), so keys can stay in their PEMs:
 *
 *   { "channel": "alipay", "appId": "2021000000000001", "sellerId": "2088000000000001",
 *     "appPrivateKey": "@app_private_key.pem", "alipayPublicKey": "@alipay_public_key.pem",
 *     "gatewayUrl": "https://openapi.alipay.com/gateway.do", "notifyBaseUrl": "https://pay.example.com" }
 *
 * Secret fields are sealed with CHANNEL_SECRETS_KEYS before they reach the database and are never printed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { saveChannelAccount } from '../src/app/channel-accounts';
import { loadConfig, secretBox } from '../src/config';
import { TENANT_ID } from '../src/domain/identifiers';
import { closeDb, createDb } from '../src/infra/db';

export function readAccountFile(file: string): unknown {
  const dir = path.dirname(path.resolve(file));
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) =>
      typeof v === 'string' && v.startsWith('@') ? [k, readFileSync(path.resolve(dir, v.slice(1)), 'utf8')] : [k, v],
    ),
  );
}

async function main(): Promise<void> {
  const [tenantId, file] = process.argv.slice(2);
  if (!tenantId || !file) throw new Error('usage: npm run channel:account -- <tenant-id> <account.json>');
  if (!TENANT_ID.test(tenantId)) throw new Error('tenant id must be 1-64 characters of A-Z a-z 0-9 _ - (case matters)');
  const config = loadConfig({ ...process.env, MOCK_CHANNEL_ENABLED: 'false' });
  const db = createDb(config.DATABASE_URL, 1);
  try {
    const account = readAccountFile(file) as Parameters<typeof saveChannelAccount>[3];
    const version = await saveChannelAccount(db, secretBox(config), tenantId, account);
    process.stdout.write(`saved the ${account.channel} account of tenant ${tenantId} (version ${version})\n`);
  } finally {
    await closeDb(db);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const issues = (err as { issues?: Array<{ path: unknown[]; message: string }> }).issues;
    const message = issues ? issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') : (err as Error).message;
    process.stderr.write(`channel account not saved:\n${message}\n`);
    process.exit(1);
  });
}
