import { OrderStatus, PayWay } from '../../src/gen/payment/v1/types';
import { StatusSync } from '../../src/jobs/status-sync';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/**
 * Issue 13: a BullMQ job per status-sync round cost ~930 B of Redis per PAYING order and a job add per Prepay.
 * A round due DUE_SET_MIN_DELAY_MS or more ahead now waits in its second's due set, under one job per second.
 */
const prefix = `{${uniq('due')}}`;
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness({ QUEUE_PREFIX: prefix, STATUS_SYNC_DELAYS_MS: '60000,300000,300000' });
  tenant = await newTenant(h, 't-due');
});
afterAll(() => h.close());
afterEach(() => h.gateway.clearFaults());

const prepay = (o: Parameters<typeof ref>[0]) =>
  h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });

describe('status sync rounds in per-second due sets', () => {
  it('When many rounds are due in one second, then they share one delayed job and one set, with no job of their own', async () => {
    const redis = h.service.deps.queueRedis;
    // A clock of our own, stopped 250 ms into the current second, under a prefix of our own: every round lands in
    // the same second. Now, not a fixed date: the set's expiry (its second + 24 h) must lie ahead, or Redis deletes
    // it at once (a fixed date of 2026-12-03 failed this test from 2026-12-04 08:01 UTC on).
    const at = Math.floor(Date.now() / 1000) * 1000 + 250;
    const own = `{${uniq('due-own')}}`;
    const sync = new StatusSync(redis, [60_000, 300_000], own, () => at);
    try {
      const attempts = Array.from({ length: 200 }, (_, i) => `A${String(i).padStart(30, '0')}`);
      for (const a of attempts) await sync.schedule(a);
      await sync.schedule(attempts[0]); // scheduled twice: still one member
      const second = Math.ceil((at + 60_000) / 1000);
      expect(await redis.scard(sync.dueSetKey(second))).toBe(200);
      expect(await sync.queue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 1, waiting: 0 });
      const job = await sync.pending(attempts[123]);
      expect(job?.id).toBe(`psync-s${second}`);
      expect(job?.data).toEqual({ second });
      expect(await sync.queue.getJob(`psync-${attempts[123]}-0`)).toBeUndefined();
      // The set is garbage-collected by Redis if its job is ever lost (the sweep asks those attempts then).
      expect(Number(await redis.call('PEXPIRETIME', sync.dueSetKey(second)))).toBe(second * 1000 + 24 * 3600 * 1000);
      // What it costs: the set's bytes per round (BullMQ's one job is ~1 KB for the whole second).
      const bytes = Number(await redis.call('MEMORY', 'USAGE', sync.dueSetKey(second), 'SAMPLES', '0'));
      expect(bytes / attempts.length).toBeLessThan(100);
    } finally {
      await sync.queue.obliterate({ force: true });
      await sync.close();
    }
  });

  it('When a second’s job runs, then every round in it is asked: a lost payment is applied as SYNC and an unpaid attempt moves to a later second', async () => {
    const sync = h.service.deps.jobs.statusSync;
    const paid = await createOrder(h, tenant);
    const unpaid = await createOrder(h, tenant);
    const paidPre = await prepay(paid);
    const unpaidPre = await prepay(unpaid);
    const jobs = [await sync.pending(paidPre.attemptNo), await sync.pending(unpaidPre.attemptNo)];
    for (const job of jobs) expect(job?.id).toMatch(/^psync-s\d+$/);
    h.gateway.inject({ kind: 'dropNotify' }, 10);
    h.gateway.pay(paidPre.attemptNo);

    for (const id of new Set(jobs.map((j) => j!.id))) await (await sync.queue.getJob(id!))?.promote(); // the minute passes
    await eventually(
      async () => (await h.call('query', { order: ref(paid), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
    );
    const trail = await h.service.deps.db.orderTransition.findMany({ where: { payNo: paid.payNo }, orderBy: { id: 'asc' } });
    expect(trail.map((t) => [t.toStatus, t.cause])).toEqual([
      ['PAYING', 'RPC'],
      ['SUCCESS', 'SYNC'],
    ]);
    // The unpaid attempt was asked (its row stamped) and its next round waits in the second 300 s on.
    const next = await eventually(() => sync.pending(unpaidPre.attemptNo, 1));
    expect(next.id).toMatch(/^psync-s\d+$/);
    expect((next.data as { second: number }).second * 1000).toBeGreaterThan(Date.now() + 290_000);
    await eventually(async () => (await sync.pending(unpaidPre.attemptNo, 0)) === undefined);
    await eventually(async () => (await sync.pending(paidPre.attemptNo, 0)) === undefined); // asked, and settled: no round 1
    expect(await sync.pending(paidPre.attemptNo, 1)).toBeUndefined();
    expect((await h.call('query', { order: ref(unpaid), sync: false })).order!.status).toBe(OrderStatus.ORDER_STATUS_PAYING);
  });

  it('When one round of a second fails, then the others are done and removed, and the retry asks only the one left', async () => {
    const redis = h.service.deps.queueRedis;
    const sync = h.service.deps.jobs.statusSync;
    const second = Math.ceil(Date.now() / 1000) + 7200; // a second no Prepay of this suite uses
    const key = sync.dueSetKey(second);
    await redis.sadd(key, '0:A-fails-once', '0:A-fine', '1:A-fine-too', 'not a round');
    const asked: string[] = [];
    const run = jest.spyOn(sync, 'run').mockImplementation(async (_deps, job) => {
      asked.push(`${job.round}:${job.attemptNo!}`);
      if (job.attemptNo === 'A-fails-once' && asked.filter((a) => a === '0:A-fails-once').length === 1) throw new Error('database away');
      return 'pending: unchanged';
    });
    try {
      await expect(sync.runSecond(h.service.deps, { data: { second } })).rejects.toThrow(
        /1 of 4 sync rounds due .* failed: 0:A-fails-once: database away/,
      );
      expect(await redis.smembers(key)).toEqual(['0:A-fails-once']); // the unreadable member is dropped, not retried
      expect(await sync.runSecond(h.service.deps, { data: { second } })).toBe('1 sync rounds run');
      expect(await redis.exists(key)).toBe(0);
      expect(asked.sort()).toEqual(['0:A-fails-once', '0:A-fails-once', '0:A-fine', '1:A-fine-too']);
    } finally {
      run.mockRestore();
    }
  });
});
