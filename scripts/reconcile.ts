/**
 * Operators' reconciliation at the command line (issue 15), against DATABASE_URL:
 *
 *   npm run reconcile -- --tenant <id> --channel <alipay|wechat> --day <yyyy-MM-dd>
 *       runs the day now, in this process (no queue, no worker needed), then prints the run and its differences
 *   npm run reconcile -- --list --tenant <id> [--channel C] [--from yyyy-MM-dd] [--to yyyy-MM-dd] [--limit N]
 *       the tenant's runs, newest day first (default 20)
 *   npm run reconcile -- --differences <run-id> --tenant <id>
 *       one run and its differences
 *
 * A run is the same as the daily job's and StartReconciliation's (reconcileDay): it always runs, even on a day
 * already DONE, and waits for nothing (a run of the day already RUNNING is refused). Its actor is `cli:<OS user>`.
 */
import { userInfo } from 'node:os';
import type { Deps } from '../src/app/deps';
import { reconcileDay } from '../src/app/reconcile';
import { checkReconciliation, requireStatementChannel } from '../src/app/reconciliation-runs';
import { requireTenant } from '../src/app/tenants';
import { buildDeps, closeDeps, type ServiceDeps } from '../src/bootstrap';
import { loadConfig } from '../src/config';
import { isStatementDay } from '../src/domain/statement-days';
import type { ReconcileEngine } from '../src/jobs/reconciliation';
import { findRun, listDifferencesAfter, listRunsBefore, dayText, type ReconRun } from '../src/repo/reconciliation-queries';

const USAGE = [
  'usage: npm run reconcile -- --tenant <id> --channel <alipay|wechat> --day <yyyy-MM-dd>',
  '       npm run reconcile -- --list --tenant <id> [--channel C] [--from yyyy-MM-dd] [--to yyyy-MM-dd] [--limit N]',
  '       npm run reconcile -- --differences <run-id> --tenant <id>',
].join('\n');

export class UsageError extends Error {}

const VALUED = new Set(['--tenant', '--channel', '--day', '--from', '--to', '--limit', '--differences']);

/** Flags in any order; each at most once. */
export function parseArgs(argv: string[]): { list: boolean; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--list') list = true;
    else if (VALUED.has(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value\n${USAGE}`);
      if (flags.has(arg)) throw new UsageError(`${arg} given twice\n${USAGE}`);
      flags.set(arg, value);
    } else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  return { list, flags };
}

const day = (flag: string, v: string | undefined): string | undefined => {
  if (v !== undefined && !isStatementDay(v)) throw new UsageError(`${flag} must be a calendar day written yyyy-MM-dd`);
  return v;
};

/** Fen as yuan with two decimals (exact: bigint arithmetic). */
export const yuan = (fen: bigint): string => {
  const sign = fen < 0n ? '-' : '';
  const a = fen < 0n ? -fen : fen;
  return `${sign}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`;
};
/** Milli-fen as fen with three decimals. */
const fenOfMilli = (m: bigint): string =>
  `${m < 0n ? '-' : ''}${(m < 0n ? -m : m) / 1000n}.${((m < 0n ? -m : m) % 1000n).toString().padStart(3, '0')}`;

const table = (rows: string[][]): string => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
};

export function describeRun(r: ReconRun): string {
  const lines = [
    `run ${r.id}: ${r.tenantId} ${r.channel} ${dayText(r.day)} ${r.status} (by ${r.actor}, started ${r.startedAt.toISOString()}` +
      `${r.finishedAt ? `, finished ${r.finishedAt.toISOString()}` : ''})`,
  ];
  if (r.error) lines.push(`  error: ${r.error}`);
  lines.push(
    `  statement: ${r.paymentLines} payment lines (${yuan(r.statementAmount)} CNY), ${r.refundLines} refund lines (${yuan(r.statementRefundAmount)} CNY), fees ${fenOfMilli(r.statementFeeMilliFen)} fen`,
    `  matched ${r.matched}, differences ${r.differences}, applied ${r.applied}`,
  );
  return lines.join('\n') + '\n';
}

async function describeDifferences(deps: Pick<Deps, 'db'>, runId: bigint): Promise<string> {
  const rows = [['ID', 'KIND', 'LINE', 'TRADE / REFUND', 'PAY_NO', 'STATEMENT', 'BOOKS', 'RESOLUTION', 'DETAIL']];
  let after: bigint | undefined;
  for (;;) {
    const page = await listDifferencesAfter(deps.db, runId, [], after, 500);
    for (const d of page) {
      rows.push([
        d.id.toString(),
        d.kind,
        d.line === null ? '-' : String(d.line),
        d.outRefundNo ?? d.refundNo ?? d.outTradeNo ?? d.attemptNo ?? '-',
        d.payNo ?? '-',
        d.statementAmount === null ? '-' : yuan(d.statementAmount),
        d.localAmount === null ? '-' : yuan(d.localAmount),
        d.resolution,
        d.detail,
      ]);
    }
    if (page.length < 500) break;
    after = page[page.length - 1].id;
  }
  return rows.length === 1 ? 'no differences\n' : table(rows);
}

/** Runs one command as `actor` and returns what it prints; `engine` is reconcileDay but for tests. */
export async function runReconcileCommand(
  deps: Deps,
  argv: string[],
  actor = `cli:${userInfo().username}`,
  engine: ReconcileEngine = reconcileDay,
  signal?: AbortSignal,
): Promise<string> {
  const { list, flags } = parseArgs(argv);
  const tenantId = flags.get('--tenant');
  if (!tenantId) throw new UsageError(`--tenant is required\n${USAGE}`);
  if (list) {
    const channel = flags.get('--channel');
    if (channel) requireStatementChannel(deps, channel);
    await requireTenant(deps, tenantId);
    const limit = Number(flags.get('--limit') ?? '20');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be 1-1000');
    const runs = await listRunsBefore(
      deps.db,
      { tenantId, channel, dayFrom: day('--from', flags.get('--from')), dayTo: day('--to', flags.get('--to')) },
      undefined,
      limit,
    );
    if (runs.length === 0) return 'no runs\n';
    const rows = [['RUN', 'CHANNEL', 'DAY', 'STATUS', 'PAYMENTS', 'REFUNDS', 'MATCHED', 'DIFFERENCES', 'APPLIED', 'ACTOR', 'ERROR']];
    for (const r of runs) {
      rows.push([
        r.id.toString(),
        r.channel,
        dayText(r.day),
        r.status,
        String(r.paymentLines),
        String(r.refundLines),
        String(r.matched),
        String(r.differences),
        String(r.applied),
        r.actor,
        r.error ?? '',
      ]);
    }
    return table(rows);
  }
  const runId = flags.get('--differences');
  if (runId !== undefined) {
    if (!/^[1-9]\d{0,18}$/.test(runId)) throw new UsageError(`--differences needs a run id\n${USAGE}`);
    const run = await findRun(deps.db, tenantId, BigInt(runId));
    if (!run) throw new UsageError(`tenant ${tenantId} has no run ${runId}`);
    return describeRun(run) + (await describeDifferences(deps, run.id));
  }
  const channel = flags.get('--channel');
  const d = day('--day', flags.get('--day'));
  if (!channel || !d) throw new UsageError(`--channel and --day are required\n${USAGE}`);
  await checkReconciliation(deps, { tenantId, channel, day: d });
  const run = await engine(deps, { tenantId, channel, day: d, actor, signal });
  return describeRun(run) + (await describeDifferences(deps, run.id));
}

async function main(): Promise<void> {
  // No gRPC server, sidecar or workers: only the use cases' dependencies (a payment the run applies may queue
  // its follow-up jobs, e.g. an automatic refund, for the service's workers).
  const config = loadConfig({ ...process.env, MOCK_CHANNEL_ENABLED: 'false', WORKERS_ENABLED: 'false' });
  const deps: ServiceDeps = buildDeps(config);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  try {
    process.stdout.write(await runReconcileCommand(deps, process.argv.slice(2), undefined, reconcileDay, stop.signal));
  } finally {
    await deps.orderFeed.close();
    await closeDeps(deps);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? '' : 'npm run reconcile failed: '}${(err as Error).message}\n`);
    process.exit(1);
  });
}
