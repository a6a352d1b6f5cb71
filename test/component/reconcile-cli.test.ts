import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Deps } from '../../src/app/deps';
import type { ReconcileRequest, ReconRun } from '../../src/app/reconcile';
import { InvalidArgumentError, NotFoundError } from '../../src/domain/errors';
import { runReconcileCommand, UsageError, yuan } from '../../scripts/reconcile';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { newTenant, startHarness, type Harness } from '../support/harness';

/*
 * Issue 15: `npm run reconcile` runs a day at once through the engine (a test double here, reconcileDay once
 * built) and prints the run and its differences; --list and --differences read what runs stored.
 */
let h: Harness;
let tenant: string;
let alipay: AlipayTenant;

beforeAll(async () => {
  h = await startHarness({ WORKERS_ENABLED: 'false' });
  tenant = await newTenant(h, 'rcli');
  alipay = await alipayTenant(h, tenant);
}, 60_000);
afterAll(async () => {
  await h?.close();
  await alipay?.close();
});

/** An engine double that stores a DONE run with one difference, as the engine would. */
const calls: ReconcileRequest[] = [];
async function engine(deps: Deps, req: ReconcileRequest): Promise<ReconRun> {
  calls.push(req);
  const day = new Date(`${req.day}T00:00:00Z`);
  const run = await deps.db.reconRun.create({
    data: {
      tenantId: req.tenantId,
      channel: req.channel,
      day,
      status: 'DONE',
      actor: req.actor,
      paymentLines: 3,
      refundLines: 1,
      matched: 3,
      differences: 1,
      applied: 1,
      statementAmount: 123_456n,
      statementRefundAmount: 5n,
      statementFeeMilliFen: 7_405n,
      startedAt: new Date('2026-12-02T02:00:00Z'),
      finishedAt: new Date('2026-12-02T02:00:01Z'),
    },
  });
  await deps.db.reconDifference.create({
    data: {
      runId: run.id,
      tenantId: req.tenantId,
      channel: req.channel,
      day,
      kind: 'PAID_AT_CHANNEL_ONLY',
      payNo: 'P123',
      outTradeNo: 'A123',
      statementAmount: 100n,
      localAmount: 100n,
      line: 7,
      resolution: 'APPLIED',
      detail: 'order now SUCCESS',
    },
  });
  return run;
}

const cli = (argv: string[]) => runReconcileCommand(h.service.deps, argv, 'cli:tester', engine);

describe('npm run reconcile', () => {
  it('When an operator runs a day, then the engine runs it at once as cli:<user>, and the run and its differences are printed', async () => {
    const out = await cli(['--tenant', tenant, '--channel', 'alipay', '--day', '2026-11-10']);
    expect(calls).toEqual([{ tenantId: tenant, channel: 'alipay', day: '2026-11-10', actor: 'cli:tester', signal: undefined }]);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^run \\d+: ${tenant} alipay 2026-11-10 DONE \\(by cli:tester, started 2026-12-02T02:00:00.000Z`));
    expect(lines[1]).toBe('  statement: 3 payment lines (1234.56 CNY), 1 refund lines (0.05 CNY), fees 7.405 fen');
    expect(lines[2]).toBe('  matched 3, differences 1, applied 1');
    expect(lines[3].split(/\s{2,}/)).toEqual([
      'ID',
      'KIND',
      'LINE',
      'TRADE / REFUND',
      'PAY_NO',
      'STATEMENT',
      'BOOKS',
      'RESOLUTION',
      'DETAIL',
    ]);
    expect(lines[4].split(/\s{2,}/).slice(1)).toEqual([
      'PAID_AT_CHANNEL_ONLY',
      '7',
      'A123',
      'P123',
      '1.00',
      '1.00',
      'APPLIED',
      'order now SUCCESS',
    ]);
  });

  it('When runs are listed, or one run with its differences, then what the runs stored is printed', async () => {
    const list = await cli(['--list', '--tenant', tenant, '--channel', 'alipay']);
    const [header, first] = list.split('\n');
    expect(header.split(/\s+/).slice(0, 4)).toEqual(['RUN', 'CHANNEL', 'DAY', 'STATUS']);
    const runId = first.split(/\s+/)[0];
    expect(first.trim().split(/\s+/).slice(1)).toEqual(['alipay', '2026-11-10', 'DONE', '3', '1', '3', '1', '1', 'cli:tester']);
    expect(await cli(['--list', '--tenant', tenant, '--from', '2026-11-11'])).toBe('no runs\n');
    expect(await cli(['--differences', runId, '--tenant', tenant])).toMatch(/^run \d+: .* DONE[\s\S]*PAID_AT_CHANNEL_ONLY/);
  });

  it('When the arguments are wrong, then it says so and runs nothing', async () => {
    const before = calls.length;
    await expect(cli(['--channel', 'alipay', '--day', '2026-11-10'])).rejects.toThrow(UsageError);
    await expect(cli(['--tenant', tenant, '--channel', 'alipay'])).rejects.toThrow(/--channel and --day are required/);
    await expect(cli(['--tenant', tenant, '--channel', 'alipay', '--day', '2026-11-31'])).rejects.toThrow(/yyyy-MM-dd/);
    await expect(cli(['--tenant', tenant, '--channel', 'mock', '--day', '2026-11-10'])).rejects.toThrow(InvalidArgumentError);
    await expect(cli(['--tenant', 'nobody-here', '--channel', 'alipay', '--day', '2026-11-10'])).rejects.toThrow(NotFoundError);
    await expect(cli(['--tenant', tenant, '--channel', 'wechat', '--day', '2026-11-10'])).rejects.toThrow(/no account at wechat/);
    await expect(cli(['--tenant', tenant, '--day', '2026-11-10', '--day', '2026-11-11'])).rejects.toThrow(/given twice/);
    await expect(cli(['--differences', 'x', '--tenant', tenant])).rejects.toThrow(UsageError);
    expect(calls.length).toBe(before);
  });

  it('When run as npm run reconcile, then it reads DATABASE_URL, prints and exits', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/reconcile.ts', '--list', '--tenant', tenant],
      {
        env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
        timeout: 60_000,
      },
    );
    expect(stdout.split('\n')[1]).toMatch(/^\d+\s+alipay\s+2026-11-10\s+DONE/);
  }, 70_000);

  it('When fen are printed as yuan, then it is exact', () => {
    expect([yuan(0n), yuan(5n), yuan(-105n), yuan(9_007_199_254_740_993n)]).toEqual(['0.00', '0.05', '-1.05', '90071992547409.93']);
  });
});
