import { status } from '@grpc/grpc-js';
import { PayWay } from '../../src/gen/payment/v1/types';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { STATUS_SYNC_QUEUE } from '../../src/jobs/status-sync';
import { grpcError, newTenant, startHarness, uniq } from '../support/harness';
import { createOrder, ref } from '../support/orders';

describe('graceful shutdown', () => {
  it('When the server shuts down with a call in flight, then that call completes and new calls are refused', async () => {
    const h = await startHarness();
    try {
      const order = await createOrder(h, await newTenant(h, 't-shutdown'));
      h.gateway.inject({ kind: 'hang', ms: 700 }, 1); // the prepay's channel call takes 700 ms
      const inFlight = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      await new Promise((r) => setTimeout(r, 200));
      const drained = h.service.grpc.shutdown(5000);
      const pre = await inFlight;
      expect(pre.payload?.$case).toBe('mockPayUrl');
      await drained;
      await grpcError(h.call('query', { order: ref(order), sync: false }, 1000), status.UNAVAILABLE);
    } finally {
      await h.close();
    }
  });

  it('When a call outlives the grace, then its connection is cut but its use case finishes before the queues and database close', async () => {
    const prefix = `{${uniq('shut')}}`;
    const h = await startHarness({ SHUTDOWN_GRACE_MS: '100', QUEUE_PREFIX: prefix });
    let stopped = false;
    try {
      const order = await createOrder(h, await newTenant(h, 't-shutdown'));
      h.gateway.inject({ kind: 'hang', ms: 900 }, 1); // the prepay's channel call answers after the grace
      const cut = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      const [attempt] = await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo } });
      await h.close();
      stopped = true;
      // The cut aborted the channel call (the caller is gone); the use case then recorded the unknown outcome
      // by scheduling a status query of the attempt, and the process waited for that before closing Redis.
      expect([status.CANCELLED, status.UNAVAILABLE]).toContain(((await cut) as { code?: number }).code);
      const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
      const queue = new Queue(STATUS_SYNC_QUEUE, { connection: redis, prefix });
      try {
        expect(await queue.getJob(`psync-${attempt.attemptNo}-0`)).toBeDefined();
      } finally {
        await queue.close();
        redis.disconnect();
      }
    } finally {
      if (!stopped) await h.close();
    }
  });
});
