import type { Worker } from 'bullmq';
import { QUEUE } from '../../src/jobs/queues';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder } from '../support/orders';

/**
 * BullMQ's workers on a Redis Cluster can stay blocked after a failover with every connection ready and no error.
 * The sweep replaced this process's workers when its own run went unclaimed; a worker of another queue stuck the
 * same way went unnoticed while the sweep's worker was fine: overdue orders handed to the backlog job waited for a
 * restart (the Redis Cluster failover test, twice in CI). Here one worker stops taking jobs, as a stuck one does.
 */
describe('a worker that stops taking jobs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ QUEUE_PREFIX: `{${uniq('wedged')}}`, SWEEP_INTERVAL_MS: '500', SWEEP_GRACE_MS: '200' });
  });
  afterAll(() => h.close());

  const workers = () => (h.service.deps.jobs as unknown as { workers: Worker[] }).workers;

  it('When the timeout worker takes no job while the sweep runs, then the workers are replaced and the overdue order closes', async () => {
    const stuck = workers().find((w) => w.name === QUEUE.orderTimeout)!;
    await stuck.pause(true); // takes nothing more, says nothing: what a worker blocked after a failover looks like
    const order = await createOrder(h, await newTenant(h, 't-wedged'));
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt: new Date(Date.now() - 60_000) } });
    // The sweep hands it to the backlog job, which nothing takes until the workers are replaced.
    const closed = async () => (await h.service.deps.db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } })).status === 'CLOSED';
    await eventually(closed, 40_000);
    expect(workers()).not.toContain(stuck);
    expect(workers().map((w) => w.name)).toContain(QUEUE.orderTimeout);
  });
});
