import { setTimeout as sleep } from 'node:timers/promises';
import { PaymentClient } from '../../src/client';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Issue 16: after a kill -9, callers saw UNAVAILABLE (connection refused/reset) until the restart. The typed
 * client must ride that out within its deadline: an attempt that never reached the server is resent (every
 * method) until the deadline, and the channel looks for the server again at least every second. The "server"
 * here is killed and restarted by a proxy in front of it: every connection reset, then refused, then accepted.
 */
describe('The typed client across a server restart', () => {
  /** How long the server is gone: longer than the old policy's four attempts (about 0.7 s of backoff). */
  const RESTART_MS = 2500;
  let h: Harness;
  let proxy: TcpProxy;
  let client: PaymentClient;
  let tenantId: string;
  beforeAll(async () => {
    h = await startHarness();
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: h.service.grpc.port });
    client = new PaymentClient(`127.0.0.1:${proxy.port}`, { token: h.token, deadlineMs: 15_000 });
    tenantId = await newTenant(h, 'trestart');
    await client.listPayWays({ tenantId }); // connected before the "crash"
  });
  afterAll(async () => {
    client.close();
    await proxy.down();
    await h.close();
  });

  const newOrder = (amount: bigint) => ({
    tenantId,
    outOrderNo: uniq('O'),
    amount,
    currency: 'CNY',
    subject: 'restart',
    notifyTopic: 'order.pay.notify',
  });

  const restart = async (): Promise<number> => {
    await proxy.down();
    await sleep(RESTART_MS); // the fault itself: the server is gone this long
    await proxy.up();
    return Date.now();
  };

  it('When the server is killed mid-traffic and restarts within the deadline, then CreateOrder and Query succeed, the order created once', async () => {
    const order = (await client.createOrder(newOrder(1200n))).order!;
    const req = newOrder(3400n);
    const back = restart(); // connections reset at once: calls may be lost after they were sent
    const [created, queried] = await Promise.all([client.createOrder(req), client.query({ order: { tenantId, payNo: order.payNo } })]);
    const upAt = await back;
    console.log(`calls answered ${Date.now() - upAt} ms after the server was back (down ${RESTART_MS} ms)`);
    expect(created.order?.outOrderNo).toBe(req.outOrderNo);
    expect(queried.order?.payNo).toBe(order.payNo);
    expect(await h.service.deps.db.payOrder.count({ where: { tenantId, outOrderNo: req.outOrderNo } })).toBe(1);
  });

  it('When the server is down (connection refused), then even ReplayEvent, not idempotent, is sent once it is back: it never reached the server before', async () => {
    const order = (await client.createOrder(newOrder(1500n))).order!;
    await client.cancel({ order: { tenantId, payNo: order.payNo }, reason: 'restart test' });
    const event = await h.service.deps.db.outboxEvent.findFirstOrThrow({ where: { payNo: order.payNo } });
    await proxy.down();
    // A client with no connection yet (nor one shared from grpc-js's subchannel pool, which the first client's
    // connection, reset but maybe not yet noticed, is in): its every attempt is refused before anything is sent.
    const fresh = new PaymentClient(`127.0.0.1:${proxy.port}`, {
      token: h.token,
      deadlineMs: 15_000,
      channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    });
    try {
      const replay = fresh.replayEvent({ tenantId, eventId: event.id });
      await sleep(RESTART_MS); // the fault itself
      await proxy.up();
      const upAt = Date.now();
      expect((await replay).event?.event?.eventId).toBe(event.id);
      console.log(`ReplayEvent answered ${Date.now() - upAt} ms after the server was back`);
    } finally {
      fresh.close();
    }
  });
});
