import type { Worker } from 'bullmq';
import * as expireOrders from '../../src/app/expire-order';
import { QUEUE } from '../../src/jobs/queues';
import { OrderTimeouts } from '../../src/jobs/order-timeout';
import { eventually, startHarness, uniq, type Harness } from '../support/harness';

/**
 * Found by `npm run bench:timeouts` (issue 13) with a 100,000-order backlog: the backlog job stopped after a few
 * steps with "Missing lock for job timeout-overdue", was taken for stalled twice and failed for good, leaving
 * 65,000 overdue orders open until the next sweep. Each step used to end by moving the job to delayed at "now";
 * the worker's other slot took it again at once, and the first run's clean-up then stopped renewing the lock of
 * the job id, which was the new run's (BullMQ's lock manager tracks running jobs by id). A step longer than the
 * lock lost it.
 */
describe('a long timeout job in steps', () => {
  let h: Harness;
  let worker: Worker;
  beforeAll(async () => {
    h = await startHarness({
      QUEUE_PREFIX: `{${uniq('tsteps')}}`,
      JOB_LOCK_MS: '1000', // steps (below) last longer than the lock, as the bench's 5 s steps did against 5 s
      JOB_STALLED_CHECK_MS: '500',
      SWEEP_INTERVAL_MS: '3600000', // only the job under test closes orders
    });
    worker = (h.service.deps.jobs as unknown as { workers: Worker[] }).workers.find((w) => w.name === QUEUE.orderTimeout)!;
  });
  afterAll(() => h.close());

  it('When the backlog takes several steps, each longer than the job lock, then one run goes through them all and completes', async () => {
    const stalled: string[] = [];
    const failed: string[] = [];
    const onStalled = (id: string) => stalled.push(id);
    const onFailed = (job: { id?: string } | undefined, err: Error) => failed.push(`${job?.id}: ${err.message}`);
    worker.on('stalled', onStalled);
    worker.on('failed', onFailed);
    // Four steps of ~1.5 s each (three spend their budget, the last finds nothing more); the orders are not the point.
    const cursors: Array<string | undefined> = [];
    const steps = jest.spyOn(expireOrders, 'expireDueOrders').mockImplementation(async (_deps, _range, _opts, from) => {
      cursors.push(from ? String(from.id) : undefined);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const n = cursors.length;
      return n < 4 ? { done: 10, failed: 0, cursor: { status: 'WAIT_PAY', expireAt: new Date(0), id: BigInt(n) } } : { done: 5, failed: 0 };
    });
    try {
      const completed: string[] = [];
      const onCompleted = (job: { id?: string }, result: string) => job.id === OrderTimeouts.backlogJobId && completed.push(result);
      worker.on('completed', onCompleted);
      await h.service.deps.jobs.timeouts.expireOverdue(new Date());
      await eventually(async () => completed.length > 0 || failed.length > 0, 30_000);
      worker.off('completed', onCompleted);
      expect(failed).toEqual([]);
      expect(stalled).toEqual([]);
      expect(completed).toEqual(['35 orders expired, 0 left to retry']);
      expect(cursors).toEqual([undefined, '1', '2', '3']); // each step went on from where the last stopped, once
      await eventually(async () => (await h.service.deps.jobs.timeouts.queue.getJob(OrderTimeouts.backlogJobId)) === undefined);
    } finally {
      steps.mockRestore();
      worker.off('stalled', onStalled);
      worker.off('failed', onFailed);
    }
  });
});
