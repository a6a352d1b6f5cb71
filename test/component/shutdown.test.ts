import { status } from '@grpc/grpc-js';
import { PayWay } from '../../src/gen/payment/v1/types';
import { Redis } from 'ioredis';
import { StatusSync } from '../../src/jobs/status-sync';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

/** The attempt a Prepay in flight has saved before calling the channel, once it is there. */
const attemptOf = (h: Harness, order: { payNo: string }) =>
  eventually(async () => (await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo } }))[0]);

describe('graceful shutdown', () => {
  it('When the server shuts down with a call in flight, then that call completes and new calls are refused', async () => {
    const h = await startHarness();
    try {
      const order = await createOrder(h, await newTenant(h, 't-shutdown'));
      h.gateway.inject({ kind: 'hang', ms: 2000 }, 1); // the prepay's channel call takes 2 s
      let answered = false;
      const inFlight = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      void inFlight.finally(() => (answered = true)).catch(() => undefined);
      await attemptOf(h, order); // the call is at the channel now
      expect(answered).toBe(false);
      const drained = h.service.grpc.shutdown(30_000); // a grace far longer than the hang
      const pre = await inFlight;
      expect(pre.payload?.$case).toBe('mockPayUrl');
      await drained;
      await grpcError(h.call('query', { order: ref(order), sync: false }), status.UNAVAILABLE); // refused at once, whatever the deadline
    } finally {
      await h.close();
    }
  });

  it('When the service stops, then its Redis connections have ended by the time stop returns', async () => {
    const h = await startHarness();
    const { redis, queueRedis, queueProducerRedis } = h.service.deps;
    expect([redis.status, queueRedis.status, queueProducerRedis.status]).toEqual(['ready', 'ready', 'ready']);
    await h.close();
    expect([redis.status, queueRedis.status, queueProducerRedis.status]).toEqual(['end', 'end', 'end']);
  });

  it('When a call outlives the grace, then its connection is cut but its use case finishes before the queues and database close', async () => {
    const prefix = `{${uniq('shut')}}`;
    const h = await startHarness({ SHUTDOWN_GRACE_MS: '100', QUEUE_PREFIX: prefix });
    let stopped = false;
    try {
      const order = await createOrder(h, await newTenant(h, 't-shutdown'));
      h.gateway.inject({ kind: 'hang', ms: 60_000 }, 1); // the prepay's channel call would answer long after the grace
      const cut = h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' }).catch((e: unknown) => e);
      const attempt = await attemptOf(h, order); // the call is at the channel now
      await h.close();
      stopped = true;
      // The cut aborted the channel call (the caller is gone); the use case then recorded the unknown outcome
      // by scheduling a status query of the attempt, and the process waited for that before closing Redis.
      expect([status.CANCELLED, status.UNAVAILABLE]).toContain(((await cut) as { code?: number }).code);
      const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
      const sync = new StatusSync(redis, [3_600_000], prefix); // the harness's schedule: the round waits in its second's set
      try {
        expect(await sync.pending(attempt.attemptNo)).toBeDefined();
      } finally {
        await sync.close();
        redis.disconnect();
      }
    } finally {
      if (!stopped) await h.close();
    }
  });
});
