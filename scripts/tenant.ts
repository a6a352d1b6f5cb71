/**
 * Registers and lists tenants. Every RPC names a registered tenant (else NOT_FOUND):
 *
 *   npm run tenant -- add <tenant-id> [--name "Display name"] [--mock | --no-mock]
 *   npm run tenant -- list
 *
 * `add` registers the tenant, or changes a registered one: what is not given stays as it was (a new tenant's
 * name defaults to its id). A tenant has the mock channel when it has a mock channel account, like any channel:
 * `--mock` saves one (merchant id from the tenant id, MOCK_CHANNEL_SECRET, MOCK_GATEWAY_URL, NOTIFY_BASE_URL) and
 * is refused in production, where the mock never runs; `--no-mock` removes it. A running service sees either within
 * its account cache's 30 s. `list` shows MOCK on for the tenants with a mock account. A tenant's other channel
 * accounts are added with `npm run channel:account`.
 */
import { removeChannelAccount, saveChannelAccount } from '../src/app/channel-accounts';
import { registerTenant, type TenantRegistration } from '../src/app/tenants';
import { mockAccountFor, type MockAccountConfig } from '../src/channels/mock';
import { loadConfig, secretBox } from '../src/config';
import { closeDb, createDb, type Db } from '../src/infra/db';
import type { SecretBox } from '../src/infra/secret-box';
import { findChannelAccount, tenantsWithChannelAccount } from '../src/repo/channel-accounts';
import { listTenants } from '../src/repo/tenants';

const USAGE = 'usage: npm run tenant -- add <tenant-id> [--name "Display name"] [--mock | --no-mock]\n       npm run tenant -- list';

export class UsageError extends Error {}

/** `add`'s arguments: the id first, then the flags in any order. `mock` is undefined when neither flag is given. */
export function parseAdd(args: string[]): { reg: TenantRegistration; mock?: boolean } {
  const [id, ...rest] = args;
  if (!id || id.startsWith('--')) throw new UsageError(USAGE);
  const reg: TenantRegistration = { id };
  let mock: boolean | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--mock') mock = true;
    else if (arg === '--no-mock') mock = false;
    else if (arg === '--name' && i + 1 < rest.length) reg.name = rest[++i];
    else if (arg.startsWith('--name=')) reg.name = arg.slice('--name='.length);
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return { reg, mock };
}

/** What the commands work with: the database, the key ring that seals account secrets, and the mock's settings. */
export interface TenantCommandContext {
  db: Db;
  box: SecretBox;
  config: MockAccountConfig;
}

/** Runs one command and returns what it prints. */
export async function runTenantCommand({ db, box, config }: TenantCommandContext, argv: string[]): Promise<string> {
  const [command, ...args] = argv;
  if (command === 'add') {
    const { reg, mock } = parseAdd(args);
    // Built first: in production it is refused before anything is written.
    const account = mock === true ? mockAccountFor(reg.id, config) : undefined;
    const { tenant, created } = await registerTenant(db, reg);
    if (account) await saveChannelAccount(db, box, tenant.id, account);
    if (mock === false) await removeChannelAccount(db, tenant.id, 'mock');
    const on = (await findChannelAccount(db, tenant.id, 'mock')) !== null;
    return `${created ? 'added' : 'updated'} tenant ${tenant.id} (${JSON.stringify(tenant.name)}, mock channel ${on ? 'on' : 'off'})\n`;
  }
  if (command === 'list' && args.length === 0) {
    const tenants = await listTenants(db);
    if (tenants.length === 0) return 'no tenants registered; add one with `npm run tenant -- add <tenant-id>`\n';
    const mock = await tenantsWithChannelAccount(db, 'mock');
    const rows = [['TENANT', 'MOCK', 'NAME'], ...tenants.map((t) => [t.id, mock.has(t.id) ? 'on' : 'off', t.name])];
    const width = Math.max(...rows.map((r) => r[0].length));
    return rows.map(([id, on, name]) => `${id.padEnd(width)}  ${on.padEnd(4)}  ${name}`).join('\n') + '\n';
  }
  throw new UsageError(USAGE);
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, MOCK_CHANNEL_ENABLED: 'false' });
  const db = createDb(config.DATABASE_URL, 1);
  try {
    process.stdout.write(await runTenantCommand({ db, box: secretBox(config), config }, process.argv.slice(2)));
  } finally {
    await closeDb(db);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? '' : 'npm run tenant failed: '}${(err as Error).message}\n`);
    process.exit(1);
  });
}
