import { status } from '@grpc/grpc-js';
import { createConnection, type Connection } from 'mariadb';
import { registerTenant } from '../../src/app/tenants';
import { ACQUIRE_TIMEOUT_MS } from '../../src/infra/db';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { eventually, grpcError, newTenant, uniq, type Harness } from '../support/harness';
import { createOrder, orderRequest, ref } from '../support/orders';
import { decodeStatus } from '../support/status-details';
import { harnessBehindDbProxy } from '../support/db-proxy';
import type { TcpProxy } from '../support/tcp-proxy';

/**
 * Found by the chaos run (issue 16, `npm run chaos`): when MariaDB restarts, the statements in flight on the
 * connections it drops fail with the driver's "socket has unexpectedly been closed" (a fatal error, SQLSTATE
 * 08S01). The call answered INTERNAL, which no client retries; a lost connection is the database being away, not
 * a bug: UNAVAILABLE DATABASE_BUSY with RetryInfo, so the call is retried with its idempotency key. The restart is
 * played by a TCP proxy of this test's own in front of the shared MariaDB.
 */
describe('A call whose database connection is lost mid-statement', () => {
  let proxy: TcpProxy;
  let h: Harness;
  let close: () => Promise<void>;
  let locker: Connection;
  beforeAll(async () => {
    ({ h, proxy, close } = await harnessBehindDbProxy());
    locker = await createConnection(mysqlConnection(process.env.DATABASE_URL!)); // straight to the server
  });
  afterAll(async () => {
    await locker?.end(); // undefined when beforeAll failed: the service must still be closed
    await close();
  });

  it('When the connection drops while Cancel waits on its statement, then UNAVAILABLE DATABASE_BUSY with RetryInfo (not INTERNAL), and a retry succeeds once the database is back', async () => {
    const tenant = await newTenant(h, 'tlostconn');
    const order = await createOrder(h, tenant);
    // Another session holds the order's row: Cancel's statements wait on it, on a connection through the proxy.
    await locker.beginTransaction();
    await locker.query('SELECT pay_no FROM pay_order WHERE pay_no = ? FOR UPDATE', [order.payNo]);
    const cancel = grpcError(h.call('cancel', { order: ref(order), reason: 'lost connection test' }, 20_000), status.UNAVAILABLE);
    await eventually(async () => {
      const waiting = await locker.query<unknown[]>("SELECT trx_id FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'");
      // InnoDB refreshes this view only when it was not read in the last 100 ms: a faster poll sees it frozen.
      await new Promise((r) => setTimeout(r, 200));
      return waiting.length > 0;
    });

    await proxy.down(); // the server "restarts": every connection through the proxy is reset
    const err = await cancel;
    const details = decodeStatus(err);
    expect(details.errorInfo?.reason).toBe('DATABASE_BUSY');
    expect(details.retryDelayMs).toBeGreaterThan(0);

    await locker.rollback();
    await proxy.up();
    const retried = await eventually(async () =>
      h.call('cancel', { order: ref(order), reason: 'lost connection test' }).catch(() => undefined),
    );
    expect(retried.order?.status).toBeDefined();
  });
});

/**
 * Found by the chaos run too: an instance restarted while MariaDB was down answered Prepay INTERNAL. Its tenant
 * cache was empty, and the tenant is read through Prisma, which wraps the driver's pool timeout (45028) as P2039
 * with the driver's code inside meta.driverAdapterError: not recognised as the database being busy.
 */
describe('A call that must read through Prisma while MariaDB is down', () => {
  let proxy: TcpProxy;
  let h: Harness;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ h, proxy, close } = await harnessBehindDbProxy({ DATABASE_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) }));
  });
  afterAll(() => close());

  it('When the tenant is not cached yet and no connection can be had, then UNAVAILABLE DATABASE_BUSY with RetryInfo (not INTERNAL)', async () => {
    const tenant = uniq('tcold');
    await registerTenant(h.service.deps.db, { id: tenant, name: 'cold cache' }); // written, never read through the RPCs
    await proxy.down();
    const err = await grpcError(h.call('createOrder', orderRequest(tenant), 15_000), status.UNAVAILABLE);
    const details = decodeStatus(err);
    expect(details.errorInfo?.reason).toBe('DATABASE_BUSY');
    expect(details.retryDelayMs).toBeGreaterThan(0);
  });
});
