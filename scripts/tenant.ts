/**
 * Registers and lists tenants. Every RPC names a registered tenant (else NOT_FOUND):
 *
 *   npm run tenant -- add <tenant-id> [--name "Display name"] [--mock | --no-mock]
 *   npm run tenant -- list
 *
 * `add` registers the tenant, or changes a registered one: what is not given stays as it was (a new tenant's
 * name defaults to its id, its mock channel to off). `--mock` offers the mock channel to the tenant; it is never
 * offered in production, whatever the flag says. A tenant's channel accounts are added with `npm run channel:account`.
 */
import { registerTenant, type TenantRegistration } from '../src/app/tenants';
import { loadConfig } from '../src/config';
import { createDb, type Db } from '../src/infra/db';
import { listTenants } from '../src/repo/tenants';

const USAGE = 'usage: npm run tenant -- add <tenant-id> [--name "Display name"] [--mock | --no-mock]\n       npm run tenant -- list';

export class UsageError extends Error {}

/** `add`'s arguments: the id first, then the flags in any order. */
export function parseAdd(args: string[]): TenantRegistration {
  const [id, ...rest] = args;
  if (!id || id.startsWith('--')) throw new UsageError(USAGE);
  const reg: TenantRegistration = { id };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--mock') reg.mockEnabled = true;
    else if (arg === '--no-mock') reg.mockEnabled = false;
    else if (arg === '--name' && i + 1 < rest.length) reg.name = rest[++i];
    else if (arg.startsWith('--name=')) reg.name = arg.slice('--name='.length);
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return reg;
}

/** Runs one command and returns what it prints. */
export async function runTenantCommand(db: Db, argv: string[]): Promise<string> {
  const [command, ...args] = argv;
  if (command === 'add') {
    const { tenant, created } = await registerTenant(db, parseAdd(args));
    return `${created ? 'added' : 'updated'} tenant ${tenant.id} (${JSON.stringify(tenant.name)}, mock channel ${tenant.mockEnabled ? 'on' : 'off'})\n`;
  }
  if (command === 'list' && args.length === 0) {
    const tenants = await listTenants(db);
    if (tenants.length === 0) return 'no tenants registered; add one with `npm run tenant -- add <tenant-id>`\n';
    const rows = [['TENANT', 'MOCK', 'NAME'], ...tenants.map((t) => [t.id, t.mockEnabled ? 'on' : 'off', t.name])];
    const width = Math.max(...rows.map((r) => r[0].length));
    return rows.map(([id, mock, name]) => `${id.padEnd(width)}  ${mock.padEnd(4)}  ${name}`).join('\n') + '\n';
  }
  throw new UsageError(USAGE);
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, MOCK_CHANNEL_ENABLED: 'false' });
  const db = createDb(config.DATABASE_URL, 1);
  try {
    process.stdout.write(await runTenantCommand(db, process.argv.slice(2)));
    if (config.NODE_ENV === 'production' && process.argv.includes('--mock')) {
      process.stderr.write('note: NODE_ENV=production: the mock channel is never offered here, whatever the tenant says\n');
    }
  } finally {
    await db.$disconnect();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? '' : 'npm run tenant failed: '}${(err as Error).message}\n`);
    process.exit(1);
  });
}
