import { prepay } from '../../src/app/prepay';
import { transition } from '../../src/app/transition';
import { newAttemptNo } from '../../src/domain/ids';
import { ConcurrencyError } from '../../src/domain/errors';
import { findOrder, insertAttempt } from '../../src/repo/pay-orders';
import { runTx } from '../../src/repo/tx';
import { newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder } from '../support/orders';

/** A short channel timeout keeps the marker's lifetime (2 × timeout + 1 s), and so each wait, short. */
const prefix = `{${uniq('bounded')}}`;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ QUEUE_PREFIX: prefix, CHANNEL_TIMEOUT_MS: '300', STATUS_SYNC_DELAYS_MS: '600000' });
});
afterAll(() => h.close());

describe('Prepay looks at the order a bounded number of times', () => {
  it('When another Prepay holds the current attempt and never finishes, then a Prepay waits out its marker a few times and answers ABORTED', async () => {
    const deps = h.service.deps;
    const tenantId = await newTenant(h, 't-bounded');
    const created = await createOrder(h, tenantId);
    const order = (await findOrder(deps.db, { tenantId, payNo: created.payNo }))!;
    // An attempt left CREATED by a Prepay that is (as far as anyone can tell) still calling the channel.
    const attemptNo = newAttemptNo(new Date());
    await runTx(deps.db, async (tx) => {
      await transition(tx, order, 'PAYING', { cause: 'RPC', detail: 'prepay MOCK', set: { payWay: 'MOCK' }, checkVersion: true });
      const attempt = await insertAttempt(tx, {
        attemptNo,
        payNo: order.payNo,
        tenantId,
        payWay: 'MOCK',
        channel: 'mock',
        payerId: '',
        clientIp: '',
      });
      expect(attempt.id).toBeGreaterThan(0n); // the row's real id, not a placeholder
    });
    const stuck = await deps.markers.take(`prepay-inflight:${attemptNo}`, 60_000);
    expect(stuck).not.toBe('held');
    expect(await deps.redis.exists(`${prefix}:prepay-inflight:${attemptNo}`)).toBe(1); // under QUEUE_PREFIX, nothing hard-coded

    const started = Date.now();
    const err = await prepay(deps, { ref: { tenantId, payNo: order.payNo }, payWay: 'MOCK', clientIp: '', payerId: '' }, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConcurrencyError);
    expect((err as Error).message).toMatch(/kept changing the order/);
    // Four looks, each waiting at most one marker lifetime (1.6 s): bounded, not a spin and not forever.
    expect(Date.now() - started).toBeLessThan(4 * 1600 + 5000);
    if (stuck !== 'held') await stuck.release();
  });
});

describe("a Prepay's in-flight marker", () => {
  const markerKey = (attemptNo: string) => `${prefix}:prepay-inflight:${attemptNo}`;
  const ask = (tenantId: string, payNo: string, payWay: string) =>
    prepay(h.service.deps, { ref: { tenantId, payNo }, payWay, clientIp: '', payerId: '' }, {});

  it('When the attempt opened, then its marker is left to lapse by its TTL, and a switch right after it still closes the opened attempt', async () => {
    const deps = h.service.deps;
    const tenantId = await newTenant(h, 't-marker');
    const created = await createOrder(h, tenantId);
    const opened = await ask(tenantId, created.payNo, 'MOCK');
    // Nothing reads it any more (its readers look only at CREATED attempts): no release round trip, a TTL instead.
    const ttl = await deps.redis.pttl(markerKey(opened.attemptNo));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 300 + 1000);
    // The switch closes the OPEN attempt at once: whileBeingOpened sees it is not CREATED and never looks at the marker.
    const switched = await ask(tenantId, created.payNo, 'MOCK_QR');
    expect(switched.attemptNo).not.toBe(opened.attemptNo);
    expect((await deps.db.payAttempt.findUniqueOrThrow({ where: { attemptNo: opened.attemptNo } })).status).toBe('CLOSED');
  });

  it('When the channel did not answer, then the marker is released at once, so a retry opens the attempt without waiting', async () => {
    const deps = h.service.deps;
    const tenantId = await newTenant(h, 't-marker-unknown');
    const created = await createOrder(h, tenantId);
    h.gateway.inject({ kind: 'serverError', on: 'POST /trades' }, 1);
    await expect(ask(tenantId, created.payNo, 'MOCK')).rejects.toThrow(/did not answer/);
    const attempt = await deps.db.payAttempt.findFirstOrThrow({ where: { payNo: created.payNo } });
    expect(attempt.status).toBe('CREATED');
    expect(await deps.redis.exists(markerKey(attempt.attemptNo))).toBe(0);
    const retried = await ask(tenantId, created.payNo, 'MOCK');
    expect(retried).toMatchObject({ attemptNo: attempt.attemptNo, replayed: false });
  });
});
