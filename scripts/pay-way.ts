/**
 * Operators' pay-way administration, the same use case as the UpdatePayWay RPC:
 *
 *   npm run pay-way -- list <tenant-id>
 *   npm run pay-way -- set <tenant-id> <PAY_WAY> [--enable | --disable] [--fee-bps N] [--min-fee FEN]
 *                          [--order N] [--expect VERSION]
 *   npm run pay-way -- history <tenant-id> [PAY_WAY]
 *
 * `set` changes only what it is given (--fee-bps and --min-fee both set the fee rule; one alone keeps the other).
 * It is a compare-and-set like the RPC: with --expect it fails unless the config is still at that version (as
 * `list` showed it); without, it applies to the version it reads just before. The actor on the audit row is
 * `cli:<OS user>`. A running service applies the change within PAY_WAY_CACHE_MS (default 10 s).
 */
import { userInfo } from 'node:os';
import { knownPayWays } from '../src/channels/catalog';
import { settingsOf, PayWayConfigs } from '../src/app/pay-way-configs';
import { Tenants } from '../src/app/tenants';
import { updatePayWay, type UpdatePayWayCommand } from '../src/app/update-pay-way';
import { loadConfig } from '../src/config';
import { closeDb, createDb, type Db } from '../src/infra/db';
import { listPayWayChanges, listPayWayConfigs } from '../src/repo/pay-way-configs';

const USAGE = [
  'usage: npm run pay-way -- list <tenant-id>',
  '       npm run pay-way -- set <tenant-id> <PAY_WAY> [--enable | --disable] [--fee-bps N] [--min-fee FEN] [--order N] [--expect VERSION]',
  '       npm run pay-way -- history <tenant-id> [PAY_WAY]',
].join('\n');

export class UsageError extends Error {}

const integer = (flag: string, v: string | undefined): string => {
  if (v === undefined || !/^-?\d{1,19}$/.test(v)) throw new UsageError(`${flag} needs an integer\n${USAGE}`);
  return v;
};

/** `set`'s arguments: tenant and pay way first, then the flags in any order. */
export function parseSet(args: string[]): {
  cmd: Omit<UpdatePayWayCommand, 'expectedVersion'>;
  expect?: bigint;
  feeBps?: number;
  minFee?: bigint;
} {
  const [tenantId, payWay, ...rest] = args;
  if (!tenantId || !payWay || tenantId.startsWith('--') || payWay.startsWith('--')) throw new UsageError(USAGE);
  const out: ReturnType<typeof parseSet> = { cmd: { tenantId, payWay } };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--enable' || arg === '--disable') {
      if (out.cmd.enabled !== undefined) throw new UsageError(`--enable and --disable are exclusive\n${USAGE}`);
      out.cmd.enabled = arg === '--enable';
    } else if (arg === '--fee-bps') out.feeBps = Number(integer(arg, rest[++i]));
    else if (arg === '--min-fee') out.minFee = BigInt(integer(arg, rest[++i]));
    else if (arg === '--order') out.cmd.displayOrder = Number(integer(arg, rest[++i]));
    else if (arg === '--expect') out.expect = BigInt(integer(arg, rest[++i]));
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return out;
}

const table = (rows: string[][]): string => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
};

/** Runs one command as `actor` and returns what it prints. */
export async function runPayWayCommand(db: Db, argv: string[], actor = `cli:${userInfo().username}`): Promise<string> {
  const [command, ...args] = argv;
  const deps = { db, tenants: new Tenants(db, 0), payWays: new PayWayConfigs(db, 0) };
  if (command === 'set') {
    const { cmd, expect, feeBps, minFee } = parseSet(args);
    const current = (await listPayWayConfigs(db, cmd.tenantId)).find((c) => c.payWay === cmd.payWay);
    if (feeBps !== undefined || minFee !== undefined) {
      const was = settingsOf(knownPayWays.get(cmd.payWay), current);
      cmd.feeRule = { rateBps: feeBps ?? was.feeRateBps, minFee: minFee ?? was.minFee };
    }
    const saved = await updatePayWay(deps, { ...cmd, expectedVersion: expect ?? BigInt(current?.version ?? 0) }, { actor });
    return (
      `pay way ${saved.payWay} of tenant ${saved.tenantId} is now version ${saved.version}: ${saved.enabled ? 'enabled' : 'disabled'}, ` +
      `fee ${saved.feeRateBps} bps (at least ${saved.minFee} fen), display order ${saved.displayOrder}\n`
    );
  }
  if (command === 'list' && args.length === 1) {
    const own = new Map((await listPayWayConfigs(db, args[0])).map((c) => [c.payWay, c] as const));
    const rows = [['PAY_WAY', 'ENABLED', 'FEE_BPS', 'MIN_FEE', 'ORDER', 'VERSION', 'UPDATED_BY']];
    for (const entry of knownPayWays.entries()) {
      const c = own.get(entry.code);
      const s = settingsOf(entry, c);
      rows.push([
        entry.code,
        s.enabled ? 'on' : 'off',
        String(s.feeRateBps),
        String(s.minFee),
        String(s.displayOrder),
        String(c?.version ?? 0),
        c?.updatedBy ?? '',
      ]);
    }
    return table(rows);
  }
  if (command === 'history' && (args.length === 1 || args.length === 2)) {
    const changes = await listPayWayChanges(db, args[0], args[1]);
    if (changes.length === 0) return 'no changes recorded\n';
    const rows = [['TIME', 'PAY_WAY', 'VERSION', 'ACTOR', 'AFTER']];
    for (const c of changes) rows.push([c.createdAt.toISOString(), c.payWay, String(c.version), c.actor, JSON.stringify(c.after)]);
    return table(rows);
  }
  throw new UsageError(USAGE);
}

async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, MOCK_CHANNEL_ENABLED: 'false' });
  const db = createDb(config.DATABASE_URL, 1);
  try {
    process.stdout.write(await runPayWayCommand(db, process.argv.slice(2)));
  } finally {
    await closeDb(db);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? '' : 'npm run pay-way failed: '}${(err as Error).message}\n`);
    process.exit(1);
  });
}
