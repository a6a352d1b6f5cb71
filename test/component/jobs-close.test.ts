import type { Worker } from 'bullmq';
import { PayWay } from '../../src/gen/payment/v1/types';
import { Redis } from 'ioredis';
import { runningJobs } from '../../src/jobs/queues';
import { eventually, newTenant, startHarness, uniq } from '../support/harness';

const realConnect = Redis.prototype.connect;
import { createOrder, ref } from '../support/orders';

describe('stopping the workers', () => {
  it('When a job is still running after the grace, then every worker is closed anyway and nothing of it keeps running', async () => {
    // A status query of a PAYING attempt that hangs on the channel for 55 s (the channel timeout is longer).
    const h = await startHarness({ SHUTDOWN_GRACE_MS: '200', CHANNEL_TIMEOUT_MS: '60000', STATUS_SYNC_DELAYS_MS: '3600000' });
    const workers = (h.service.deps.jobs as unknown as { workers: Worker[] }).workers;
    const closed = new Set<Worker>();
    for (const w of workers) w.on('closed', () => closed.add(w));
    const order = await createOrder(h, await newTenant(h));
    const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    h.gateway.inject({ kind: 'hang', ms: 55_000 }, 100);
    // The Prepay's own status query waits an hour; run it now, into the hang (a job of our own could race with it).
    await (await h.service.deps.jobs.statusSync.pending(pre.attemptNo))!.promote(); // its second's job
    await eventually(async () => (await h.service.deps.jobs.statusSync.queue.getActiveCount()) > 0);
    await h.close();
    // Before the fix the force-close returned BullMQ's first, pending close: the worker never closed, and its
    // lock-renewal timer kept the process alive after the last test (CI hung to its limit).
    expect(closed.size).toBe(workers.length);
  });
});

describe('stopping the workers leaves no connection behind', () => {
  it('When the grace runs out with a job waiting on the channel, then no Redis connection of the workers is open once that job ends', async () => {
    const prefix = `{${uniq('jclose')}}`;
    const opened: Redis[] = [];
    const connect = jest.spyOn(Redis.prototype, 'connect').mockImplementation(function (this: Redis, ...args) {
      if (String(this.options.connectionName ?? '').startsWith(prefix)) opened.push(this);
      return realConnect.apply(this, args);
    });
    const h = await startHarness({
      SHUTDOWN_GRACE_MS: '100',
      QUEUE_PREFIX: prefix,
      CHANNEL_TIMEOUT_MS: '5000', // the hung call ends by the gateway's close, or at the latest by this timeout
      STATUS_SYNC_DELAYS_MS: '3600000',
    });
    try {
      const order = await createOrder(h, await newTenant(h));
      const pre = await h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      h.gateway.inject({ kind: 'hang', ms: 55_000 }, 100);
      // The Prepay's own status query waits an hour; run it now, into the hang (a job of our own could race with it).
      await (await h.service.deps.jobs.statusSync.pending(pre.attemptNo))!.promote(); // its second's job
      await eventually(async () => (await h.service.deps.jobs.statusSync.queue.getActiveCount()) > 0);
      const workers = (h.service.deps.jobs as unknown as { workers: Worker[] }).workers;
      await h.close(); // also closes the gateway, which cuts the hung channel call
      // Before the fix, pause() waited for the hung job and then reconnected the worker's blocking connection,
      // after the forced close() had closed it: the connection stayed open for good.
      await eventually(async () => workers.every((w) => runningJobs(w) === 0), 20_000);
      await eventually(async () => opened.every((r) => r.status === 'end'), 5000).catch(() => undefined);
      expect(opened.filter((r) => r.status !== 'end').map((r) => `${r.options.connectionName} ${r.status}`)).toEqual([]);
    } finally {
      connect.mockRestore();
    }
  });
});
