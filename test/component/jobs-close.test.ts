import type { Worker } from 'bullmq';
import { PayWay } from '../../src/gen/payment/v1/types';
import { eventually, newTenant, startHarness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

describe('stopping the workers', () => {
  it('When a job is still running after the grace, then every worker is closed anyway and nothing of it keeps running', async () => {
    // A status query of a PAYING attempt that hangs on the channel for 55 s (the channel timeout is longer).
    const h = await startHarness({ SHUTDOWN_GRACE_MS: '200', CHANNEL_TIMEOUT_MS: '60000', STATUS_SYNC_DELAYS_MS: '0' });
    const workers = (h.service.deps.jobs as unknown as { workers: Worker[] }).workers;
    const closed = new Set<Worker>();
    for (const w of workers) w.on('closed', () => closed.add(w));
    const order = await createOrder(h, await newTenant(h));
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'hang', ms: 55_000 }, 100);
    await h.service.deps.jobs.statusSync.schedule(pre.attemptNo);
    await eventually(async () => (await h.service.deps.jobs.statusSync.queue.getActiveCount()) > 0);
    await h.close();
    // Before the fix the force-close returned BullMQ's first, pending close: the worker never closed, and its
    // lock-renewal timer kept the process alive after the last test (CI hung to its limit).
    expect(closed.size).toBe(workers.length);
  });
});
