import { status } from '@grpc/grpc-js';
import { ACQUIRE_TIMEOUT_MS } from '../../src/infra/db';
import { grpcError, newTenant, eventually, type Harness } from '../support/harness';
import { orderRequest } from '../support/orders';
import { decodeStatus } from '../support/status-details';
import { harnessBehindDbProxy } from '../support/db-proxy';
import type { TcpProxy } from '../support/tcp-proxy';

/**
 * Issue 16, "outages are not fail-fast" (MariaDB): with the database gone, a call must answer UNAVAILABLE
 * (DATABASE_BUSY, with RetryInfo) well before the caller's deadline, /readyz 503 within its probe's budget, and
 * the log must say the database went away and came back. The database is "killed" by a proxy of this test's
 * own in front of the shared one.
 */
describe('While MariaDB is down', () => {
  /** Far above the pool's 3 s wait, so 'answered, not timed out' holds on a busy machine too (CI took 3.0 s). */
  const CALLER_DEADLINE_MS = 8000;
  let proxy: TcpProxy;
  let h: Harness;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ h, proxy, close } = await harnessBehindDbProxy({ DATABASE_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) }));
  });
  afterAll(() => close());

  it('When the database goes away, then CreateOrder answers UNAVAILABLE DATABASE_BUSY before the deadline, /readyz 503 within 2 s, and the log says so; once it is back, calls succeed', async () => {
    const tenant = await newTenant(h, 'tdbdown');
    const warn = jest.spyOn(h.service.deps.log, 'warn');
    const info = jest.spyOn(h.service.deps.log, 'info');
    const logged = (spy: jest.SpyInstance, msg: string) => spy.mock.calls.filter(([, m]) => String(m) === msg).length;
    // Counted from a moment the database is seen up: a probe that timed out at the start may have logged already.
    await eventually(async () => !h.service.deps.health.mysql.down);
    const warned = logged(warn, 'MariaDB is unreachable');
    const back = logged(info, 'MariaDB is reachable again');
    // First a blip, as a probe timing out on a busy machine gave CI: warned of, and over. The real outage below
    // starts within 10 s of that warning, which once kept it out of the log for as long as it lasted.
    await proxy.down();
    await eventually(async () => logged(warn, 'MariaDB is unreachable') === warned + 1);
    await proxy.up();
    await eventually(async () => logged(info, 'MariaDB is reachable again') === back + 1);
    await h.call('createOrder', orderRequest(tenant), CALLER_DEADLINE_MS); // the pool holds live connections now
    await proxy.down();

    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const err = await grpcError(h.call('createOrder', orderRequest(tenant), CALLER_DEADLINE_MS), status.UNAVAILABLE);
      const took = Date.now() - started;
      const details = decodeStatus(err);
      expect(details.errorInfo?.reason).toBe('DATABASE_BUSY');
      expect(details.retryDelayMs).toBeGreaterThan(0);
      expect(took).toBeLessThan(CALLER_DEADLINE_MS - 500); // answered (after the pool's wait), not timed out
      times.push(took);
    }
    const readyStarted = Date.now();

    const ready = await fetch(`${h.notifyBaseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { mysql: string }).mysql).not.toBe('ok');
    console.log(`CreateOrder UNAVAILABLE after ${times.join(', ')} ms; /readyz 503 after ${Date.now() - readyStarted} ms`);
    await eventually(async () => logged(warn, 'MariaDB is unreachable') === warned + 2);

    await proxy.up();
    await eventually(async () => logged(info, 'MariaDB is reachable again') === back + 2);
    warn.mockRestore();
    info.mockRestore();
    const { order } = await h.call('createOrder', orderRequest(tenant), CALLER_DEADLINE_MS);
    expect(order?.tenantId).toBe(tenant);
    expect((await fetch(`${h.notifyBaseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);
  });
});
