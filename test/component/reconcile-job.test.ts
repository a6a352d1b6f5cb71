import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { PassThrough } from 'node:stream';
import type { Deps } from '../../src/app/deps';
import type { ReconcileRequest, ReconRun } from '../../src/app/reconcile';
import { ConcurrencyError } from '../../src/domain/errors';
import { createLogger } from '../../src/infra/logger';
import { createRedis } from '../../src/infra/redis';
import { Reconciliation, type ReconcileRunJob, type ReconcileSettings } from '../../src/jobs/reconciliation';
import { alipayTenant, wechatTenant, type AlipayTenant, type WechatTenant } from '../support/channels';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';

/*
 * Issue 15's daily job on a queue of its own per test (unique prefix), over the real database and Redis, with a
 * test double for the engine (reconcileDay is built beside this; the lead adds the end-to-end test).
 */
let h: Harness;
let conn: Redis;
let tenant: string;
let mockOnly: string;
let alipay: AlipayTenant;
let wechat: WechatTenant;
const open: Array<{ close(): Promise<void> }> = [];

/** Beijing 2026-12-02 11:00: past the 10:00 run, the previous Beijing day 2026-12-01. */
const NOW = new Date('2026-12-02T03:00:00Z');
const DAY = '2026-12-01';

beforeAll(async () => {
  h = await startHarness({ WORKERS_ENABLED: 'false' });
  conn = createRedis(process.env.REDIS_URL!, { forBullmq: true });
  tenant = await newTenant(h, 'rjob');
  mockOnly = await newTenant(h, 'rjobMock');
  alipay = await alipayTenant(h, tenant);
  wechat = await wechatTenant(h, tenant);
}, 60_000);
afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  conn?.disconnect();
  await h?.close();
  await alipay?.close();
  await wechat?.close();
});

/** What the engine double does per call (by call number), and every call it got. */
type Answer = ReconRun['status'] | 'busy';
function engine(answers: Answer[] | ((call: number) => Answer)) {
  const calls: ReconcileRequest[] = [];
  const fn = async (_deps: Deps, req: ReconcileRequest): Promise<ReconRun> => {
    calls.push(req);
    const n = calls.filter((c) => c.tenantId === req.tenantId && c.channel === req.channel && c.day === req.day).length - 1;
    const answer = typeof answers === 'function' ? answers(n) : (answers[n] ?? answers[answers.length - 1]);
    if (answer === 'busy') throw new ConcurrencyError('a run of the day is RUNNING');
    return run(req, answer);
  };
  return { fn, calls };
}

const run = (req: ReconcileRequest, status: ReconRun['status']): ReconRun => ({
  id: 1n,
  tenantId: req.tenantId,
  channel: req.channel,
  day: new Date(`${req.day}T00:00:00Z`),
  status,
  running: null,
  actor: req.actor,
  error: status === 'FAILED' ? 'NO_ANSWER' : null,
  paymentLines: 0,
  refundLines: 0,
  matched: 0,
  differences: 0,
  applied: 0,
  statementAmount: 0n,
  statementRefundAmount: 0n,
  statementFeeMilliFen: 0n,
  startedAt: new Date(),
  finishedAt: status === 'RUNNING' ? null : new Date(),
});

/** Deps at a fixed clock, logging JSON lines into `lines`. */
function testDeps(now = NOW): { deps: Deps; lines: Record<string, unknown>[] } {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on('data', (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)),
  );
  return { deps: { ...h.service.deps, log: createLogger('debug', out), now: () => now }, lines };
}

const SETTINGS: ReconcileSettings = {
  enabled: true,
  at: '10:00',
  timeZone: 'Asia/Shanghai',
  retryDelaysMs: [20, 20],
  busyDelayMs: 20,
  reassertMs: 60_000,
};

function reconciliation(e: ReturnType<typeof engine>, settings: Partial<ReconcileSettings> = {}) {
  const prefix = `{${uniq('recon')}}`;
  const rec = new Reconciliation(conn, prefix, { ...SETTINGS, ...settings }, e.fn);
  open.push(rec);
  return { rec, prefix };
}

function work(rec: Reconciliation, deps: Deps): Worker {
  const w = rec.worker(deps, { connection: conn, log: deps.log, metrics: deps.metrics });
  open.unshift({ close: () => w.close() }); // closed before its queue
  return w;
}

/** The job's return value once it completed. */
const finished = (rec: Reconciliation, id: string) =>
  eventually(async () => {
    const job = await rec.queue.getJob(id);
    return (await job?.isCompleted()) && (job!.returnvalue as string);
  });

const givenUp = async (deps: Deps, channel: string): Promise<number> => {
  const m = deps.metrics.registry.getSingleMetric('paysvc_reconcile_given_up_total');
  const values = m ? (await m.get()).values : [];
  return values.find((v) => v.labels.channel === channel)?.value ?? 0;
};

const manualJob = (over: Partial<ReconcileRunJob> = {}): ReconcileRunJob => ({
  tenantId: tenant,
  channel: 'alipay',
  day: DAY,
  actor: 'ops-alice',
  manual: true,
  tryNo: 0,
  key: `manual-${uniq('k')}`,
  ...over,
});

async function seedDone(tenantId: string, channel: string, day: string): Promise<void> {
  await h.service.deps.db.$executeRaw`INSERT INTO recon_run (tenant_id, channel, day, status, actor, started_at, finished_at)
    VALUES (${tenantId}, ${channel}, ${day}, 'DONE', 'system:reconcile', NOW(3), NOW(3))`;
}

describe('The daily job', () => {
  it('When it fires, then it queues one run per tenant and channel with statements for the previous Beijing day, as system:reconcile', async () => {
    const { rec } = reconciliation(engine(['DONE']));
    const { deps } = testDeps();
    const ids = await rec.enqueueDaily(deps);
    const mine = ids.filter((id) => id.endsWith(`-${tenant}`)).sort();
    expect(mine).toEqual([`recon-alipay-${DAY}-${tenant}`, `recon-wechat-${DAY}-${tenant}`]);
    expect(ids.some((id) => id.endsWith(`-${mockOnly}`))).toBe(false); // the mock publishes no statements
    const job = await rec.queue.getJob(`recon-wechat-${DAY}-${tenant}`);
    expect(job?.data).toEqual({
      tenantId: tenant,
      channel: 'wechat',
      day: DAY,
      actor: 'system:reconcile',
      manual: false,
      tryNo: 0,
      key: job?.id,
    });
  });

  it('When it fires just after Beijing midnight (16:30 UTC), then the day is still the Beijing day that just ended', async () => {
    const { rec } = reconciliation(engine(['DONE']));
    const ids = await rec.enqueueDaily(testDeps(new Date('2026-12-01T16:30:00Z')).deps);
    expect(ids).toContain(`recon-alipay-${DAY}-${tenant}`);
  });

  it('When the day is queued twice, then each (tenant, channel, day) is one job: the id is derived from the three', async () => {
    const { rec } = reconciliation(engine(['DONE']));
    const { deps } = testDeps();
    await rec.enqueueDaily(deps);
    await rec.enqueueDaily(deps);
    await rec.enqueueScheduled({ tenantId: tenant, channel: 'alipay', day: DAY });
    const jobs = (await rec.queue.getJobs(['waiting', 'delayed', 'active', 'completed'])).filter((j) => j.data.tenantId === tenant);
    expect(jobs.map((j) => j.id).sort()).toEqual([`recon-alipay-${DAY}-${tenant}`, `recon-wechat-${DAY}-${tenant}`]);
  });

  it('When the day is already DONE, then the daily run skips it without calling the engine; a manual run of it still runs', async () => {
    const day = '2026-11-02';
    await seedDone(tenant, 'alipay', day);
    const e = engine(['DONE']);
    const { rec } = reconciliation(e);
    const { deps } = testDeps();
    work(rec, deps);
    const id = await rec.enqueueScheduled({ tenantId: tenant, channel: 'alipay', day });
    expect(await finished(rec, id)).toBe('day already DONE; skipped');
    expect(e.calls).toEqual([]);
    const { jobId } = await rec.startManual({ tenantId: tenant, channel: 'alipay', day, actor: 'ops-alice' });
    expect(await finished(rec, jobId)).toMatch(/DONE/);
    expect(e.calls).toEqual([{ tenantId: tenant, channel: 'alipay', day, actor: 'ops-alice' }]);
  });

  it('When the statement is not ready, then the day is asked again on the schedule, then given up: an error logged and counted', async () => {
    const e = engine(['NOT_READY']);
    const { rec } = reconciliation(e, { retryDelaysMs: [20, 20] });
    const { deps, lines } = testDeps();
    const before = await givenUp(deps, 'wechat');
    work(rec, deps);
    const id = await rec.enqueueScheduled({ tenantId: tenant, channel: 'wechat', day: '2026-11-03' });
    expect(await finished(rec, `${id}-try2`)).toBe('run 1 NOT_READY; given up after 3 tries');
    expect(await finished(rec, id)).toBe('run 1 NOT_READY; try 2 in 20 ms');
    expect(e.calls.map((c) => c.actor)).toEqual(['system:reconcile', 'system:reconcile', 'system:reconcile']);
    expect(await givenUp(deps, 'wechat')).toBe(before + 1);
    expect(lines.filter((l) => l.level === 50 && l.tenantId === tenant)).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/^reconciliation given up/), channel: 'wechat', day: '2026-11-03', tryNo: 2 }),
    ]);
    expect(await rec.queue.getJob(`${id}-try3`)).toBeUndefined();
  });

  it('When the statement comes out on a later try, then the run is DONE there and nothing more is queued', async () => {
    const e = engine(['NOT_READY', 'FAILED', 'DONE']);
    const { rec } = reconciliation(e, { retryDelaysMs: [20, 20, 20] });
    const { deps } = testDeps();
    work(rec, deps);
    const id = await rec.enqueueScheduled({ tenantId: tenant, channel: 'alipay', day: '2026-11-04' });
    expect(await finished(rec, `${id}-try2`)).toBe('run 1 DONE: 0 differences, 0 applied');
    expect(await rec.queue.getJob(`${id}-try3`)).toBeUndefined();
    expect(e.calls).toHaveLength(3);
  });

  it('When a run of the day is RUNNING, then the job tries again later, for the daily job and a manual run alike', async () => {
    const e = engine(['busy', 'DONE']);
    const { rec } = reconciliation(e);
    const { deps } = testDeps();
    work(rec, deps);
    const id = await rec.enqueueScheduled({ tenantId: tenant, channel: 'alipay', day: '2026-11-05' });
    expect(await finished(rec, id)).toBe('a run of the day is RUNNING; asking again in 20 ms');
    expect(await finished(rec, `${id}-busy1`)).toMatch(/DONE/);
    const { jobId } = await rec.startManual({ tenantId: tenant, channel: 'wechat', day: '2026-11-05', actor: 'ops-bob' });
    expect(await finished(rec, `${jobId}-busy1`)).toMatch(/DONE/);
    expect(e.calls.map((c) => [c.channel, c.actor])).toEqual([
      ['alipay', 'system:reconcile'],
      ['alipay', 'system:reconcile'],
      ['wechat', 'ops-bob'],
      ['wechat', 'ops-bob'],
    ]);
  });

  it('When a run of the day stays RUNNING longer than the retry schedule, then waiting for it spends no tries: the day is run once it is free, not given up', async () => {
    // Found in review: waits for a RUNNING run spent the day's tries, so a run left RUNNING by a crash gave the day up
    // before the engine would take the dead run over (RECONCILE_STALE_MS).
    const e = engine(['busy', 'busy', 'busy', 'busy', 'DONE']);
    const { rec } = reconciliation(e, { retryDelaysMs: [20] });
    const { deps } = testDeps();
    const before = await givenUp(deps, 'alipay');
    work(rec, deps);
    const id = await rec.enqueueScheduled({ tenantId: tenant, channel: 'alipay', day: '2026-11-06' });
    expect(await finished(rec, `${id}-busy4`)).toMatch(/DONE/);
    expect(e.calls).toHaveLength(5);
    expect(await givenUp(deps, 'alipay')).toBe(before);
  });

  it("When an operator's run finds no statement, then it is not asked again (the operator sees NOT_READY and decides)", async () => {
    const e = engine(['NOT_READY']);
    const { rec } = reconciliation(e);
    const r = await rec.run(testDeps().deps, manualJob());
    expect(r).toBe("run 1 NOT_READY (an operator's run is not tried again)");
    expect(await rec.queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
  });

  it('When the tenant lost its account meanwhile, then the run is skipped, not retried', async () => {
    const { FailedPreconditionError } = await import('../../src/domain/errors');
    const { rec } = reconciliation({
      calls: [],
      fn: () => Promise.reject(new FailedPreconditionError('no account', { reason: 'CHANNEL_ACCOUNT_MISSING' })),
    });
    expect(await rec.run(testDeps().deps, manualJob({ manual: false }))).toBe('skipped: no account');
    expect(await rec.queue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
  });
});

describe('The schedule', () => {
  it('When started, then a job scheduler fires the daily job at RECONCILE_AT in RECONCILE_TIME_ZONE', async () => {
    const { rec } = reconciliation(engine(['DONE']), { at: '09:30' });
    await rec.start(testDeps().deps);
    expect(await rec.queue.getJobScheduler('reconcile-daily')).toMatchObject({ pattern: '30 9 * * *', tz: 'Asia/Shanghai', name: 'daily' });
  });

  it('When a deployment starts with another RECONCILE_AT, then its time replaces the one in Redis', async () => {
    const { rec, prefix } = reconciliation(engine(['DONE']), { at: '09:30' });
    await rec.start(testDeps().deps);
    const later = new Reconciliation(conn, prefix, { ...SETTINGS, at: '11:15', timeZone: 'Europe/Berlin' }, engine(['DONE']).fn);
    open.push(later);
    expect(await later.assertSchedule(testDeps().deps)).toBe(true);
    expect(await rec.queue.getJobScheduler('reconcile-daily')).toMatchObject({ pattern: '15 11 * * *', tz: 'Europe/Berlin' });
    expect(await later.assertSchedule(testDeps().deps)).toBe(false);
  });

  it('When RECONCILE_ENABLED is off, then no schedule is put in place', async () => {
    const { rec } = reconciliation(engine(['DONE']), { enabled: false });
    await rec.start(testDeps().deps);
    expect(await rec.queue.getJobScheduler('reconcile-daily')).toBeUndefined();
  });

  it("When Redis loses the queue's keys, then the schedule is put back, and the day whose time has passed is queued at once", async () => {
    const { rec, prefix } = reconciliation(engine(['DONE']), { reassertMs: 50 });
    const { deps, lines } = testDeps();
    await rec.start(deps);
    const keys = await conn.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await conn.del(...keys); // what a FLUSHALL or a failover without persistence does to this queue
    expect(await rec.queue.getJobScheduler('reconcile-daily')).toBeUndefined();
    await eventually(() => rec.queue.getJobScheduler('reconcile-daily'));
    expect(await eventually(() => rec.queue.getJob(`recon-alipay-${DAY}-${tenant}`))).toBeDefined();
    expect(lines.some((l) => l.level === 40 && /schedule was missing/.test(String(l.msg)))).toBe(true);
  });
});

describe('Wiring', () => {
  it("When the scheduler's job comes to a worker, then the worker queues the day's runs", async () => {
    const { rec } = reconciliation(engine(['DONE']));
    const { deps } = testDeps();
    work(rec, deps);
    const job = await rec.queue.add('daily', {}, { jobId: 'daily-by-hand' });
    expect(await finished(rec, job.id!)).toMatch(/^queued \d+ runs$/);
    expect(await rec.queue.getJob(`recon-alipay-${DAY}-${tenant}`)).toBeDefined();
  });

  it('When the service starts with workers, then the daily schedule is in place; without workers, it is not', async () => {
    const withWorkers = await startHarness({ RECONCILE_ENABLED: 'true' });
    const without = await startHarness({ RECONCILE_ENABLED: 'true', WORKERS_ENABLED: 'false' });
    try {
      expect(await withWorkers.service.deps.jobs.reconciliation.queue.getJobScheduler('reconcile-daily')).toMatchObject({
        pattern: '0 10 * * *',
        tz: 'Asia/Shanghai',
      });
      expect(await without.service.deps.jobs.reconciliation.queue.getJobScheduler('reconcile-daily')).toBeUndefined();
    } finally {
      await withWorkers.close();
      await without.close();
    }
  });
});
