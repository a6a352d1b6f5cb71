import { status, type ServiceError } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Tenants } from '../../src/app/tenants';
import { buildHandlers } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import type { RequestOf, UnaryMethod } from '../../src/client/unary-call';
import { PaymentServiceService, type WatchOrderRequest } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type OrderRef } from '../../src/gen/payment/v1/types';
import { runTenantCommand, type TenantCommandContext } from '../../scripts/tenant';
import { SecretBox } from '../../src/infra/secret-box';
import { grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, orderRequest, paidOrder, ref } from '../support/orders';
import { tenantScopedTables } from '../support/tenant-rows';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const MOCK_WAYS = [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR];

/** What `npm run tenant` works with, set up as the harness's service is (or as production, with `env`). */
function commandContext(env: 'test' | 'production' = 'test'): TenantCommandContext {
  const config = {
    NODE_ENV: env,
    MOCK_CHANNEL_SECRET: env === 'production' ? undefined : h.mockSecret,
    MOCK_GATEWAY_URL: h.gatewayUrl,
    NOTIFY_BASE_URL: h.notifyBaseUrl,
  };
  return { db: h.service.deps.db, box: SecretBox.development(), config };
}

/** The enabled flags of the mock pay ways ListPayWays shows the tenant. */
async function mockWaysEnabled(tenantId: string): Promise<boolean[]> {
  const { payWays } = await h.call('listPayWays', { tenantId });
  return payWays.filter((w) => MOCK_WAYS.includes(w.payWay)).map((w) => w.enabled);
}
const DAY_MS = 86_400_000;

/** A valid request of every RPC for `tenantId`, so only the tenant can be what is wrong with it. */
function requests(tenantId: string): { unary: { [M in UnaryMethod]: RequestOf<M> }; watchOrder: WatchOrderRequest } {
  const order: OrderRef = { tenantId, key: { $case: 'outOrderNo', value: uniq('O') } };
  return {
    unary: {
      createOrder: orderRequest(tenantId),
      prepay: { order, payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' },
      query: { order, sync: true },
      cancel: { order, reason: 'unknown tenant' },
      refund: { order, outRefundNo: uniq('RF'), amount: 100n, reason: '' },
      queryRefund: { tenantId, outRefundNo: uniq('RF'), sync: true },
      listPayWays: { tenantId },
      listNotifies: { order, pageSize: 0, pageToken: '' },
      listEvents: { order, pageSize: 0, pageToken: '' },
      listRefunds: { tenantId, payNo: '', outOrderNo: '', pageSize: 0, pageToken: '' },
      replayEvent: { tenantId, eventId: '00000000-0000-4000-8000-000000000000' },
      listOrders: {
        tenantId,
        userId: '',
        statuses: [],
        payWays: [],
        createdFrom: undefined,
        createdTo: undefined,
        pageSize: 10,
        pageToken: '',
      },
      getStatistics: {
        tenantId,
        createdFrom: new Date(Date.now() - DAY_MS),
        createdTo: new Date(),
        currency: 'CNY',
        timeZone: 'Asia/Shanghai',
      },
      listReconciliationRuns: { tenantId, channel: '', dayFrom: '', dayTo: '', pageSize: 0, pageToken: '' },
      listReconciliationDifferences: { tenantId, runId: 0n, channel: 'alipay', day: '2026-11-30', kinds: [], pageSize: 0, pageToken: '' },
      startReconciliation: { tenantId, channel: 'alipay', day: '2026-11-30' },
      updatePayWay: {
        tenantId,
        payWay: PayWay.PAY_WAY_MOCK,
        expectedVersion: 0n,
        enabled: false,
        feeRule: undefined,
        displayOrder: undefined,
      },
    },
    watchOrder: { order },
  };
}

/** Every row of every table, counted: what "nothing written" is checked against. */
/**
 * The rows of every table that could belong to `tenant` (by tenant_id, its orders' pay_no, its events' id): scoped,
 * because the service's own sweeps and relay write other suites' leftovers meanwhile.
 */
async function rowCounts(tenant: string): Promise<Record<string, number>> {
  const db = h.service.deps.db;
  const counts: Record<string, number> = {};
  for (const { table, where } of await tenantScopedTables(db, 1)) {
    const [row] = await db.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${where}`, tenant);
    counts[table] = Number(row.n);
  }
  return counts;
}

/** WatchOrder's stream status (it must fail before sending anything). */
function watchError(req: WatchOrderRequest): Promise<ServiceError> {
  return new Promise((resolve, reject) => {
    const stream = h.client.watchOrder(req, { deadline: Date.now() + 10000 });
    stream.on('data', () => reject(new Error('WatchOrder sent an order for an unknown tenant')));
    stream.on('error', resolve);
    stream.on('end', () => reject(new Error('WatchOrder ended without an error')));
  });
}

describe('Tenants are registered', () => {
  it('When a tenant was never registered, then every RPC of the service is NOT_FOUND naming the tenant and nothing is written', async () => {
    const ghost = uniq('t-ghost');
    const { unary, watchOrder } = requests(ghost);
    // The list comes from the service definition: a new RPC fails here until it is covered.
    expect(Object.keys(PaymentServiceService).sort()).toEqual([...Object.keys(unary), 'watchOrder'].sort());

    const before = await rowCounts(ghost);
    for (const [method, req] of Object.entries(unary) as [UnaryMethod, never][]) {
      const err = await grpcError(h.call(method, req), status.NOT_FOUND).catch((e: Error) => {
        throw new Error(`${method}: ${e.message}`);
      });
      expect([method, err.details]).toEqual([method, `tenant ${ghost} is not registered`]);
    }
    const watch = await watchError(watchOrder);
    expect([watch.code, watch.details]).toEqual([status.NOT_FOUND, `tenant ${ghost} is not registered`]);
    expect(await rowCounts(ghost)).toEqual(before);
  });

  it('When a tenant id differs from a registered one only in case, then it is another, unknown tenant', async () => {
    const tenant = await newTenant(h, 'tcase');
    const err = await grpcError(h.call('createOrder', orderRequest(tenant.toUpperCase())), status.NOT_FOUND);
    expect(err.details).toBe(`tenant ${tenant.toUpperCase()} is not registered`);
  });

  it('When a tenant is registered, then its orders are created, paid, refunded, listed and counted', async () => {
    const tenant = await newTenant(h, 't-known');
    const order = await paidOrder(h, tenant, 2500n);
    const { refund } = await h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 500n, reason: '' });
    expect(refund!.amount).toBe(500n);
    const { orders } = await h.call('listOrders', requests(tenant).unary.listOrders);
    expect(orders.map((o) => o.payNo)).toEqual([order.payNo]);
    const stats = await h.call('getStatistics', requests(tenant).unary.getStatistics);
    expect(stats.total).toMatchObject({ orderCount: 1n, paidAmount: 2500n, refundedAmount: 500n });
  });
});

describe('The mock channel is offered per tenant', () => {
  it('When the mock is enabled for a tenant, then ListPayWays offers the mock pay ways', async () => {
    const tenant = await newTenant(h, 't-mockon');
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    expect(payWays.filter((w) => MOCK_WAYS.includes(w.payWay)).map((w) => w.enabled)).toEqual([true, true]);
  });

  it('When the mock is not enabled for a tenant, then ListPayWays shows it disabled and Prepay with it is FAILED_PRECONDITION, nothing written', async () => {
    const tenant = await newTenant(h, 't-mockoff', { mock: false });
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    expect(payWays.filter((w) => MOCK_WAYS.includes(w.payWay)).map((w) => w.enabled)).toEqual([false, false]);

    const order = await createOrder(h, tenant);
    for (const payWay of MOCK_WAYS) {
      const err = await grpcError(h.call('prepay', { order: ref(order), payWay, clientIp: '', payerId: '' }), status.FAILED_PRECONDITION);
      expect(err.details).toMatch(new RegExp(`^pay way MOCK(_QR)? is not enabled for tenant ${tenant}: the mock channel is off for it$`));
    }
    const { order: after } = await h.call('query', { order: ref(order), sync: false });
    expect([after!.status, after!.version, after!.attempts]).toEqual([OrderStatus.ORDER_STATUS_WAIT_PAY, 1n, []]);
    expect(await h.service.deps.db.orderTransition.count({ where: { payNo: order.payNo } })).toBe(0);
  });

  it('When NODE_ENV is production, then the mock channel is refused at startup and never has a handler', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'mysql://x@h/db', REDIS_URL: 'redis://h', MOCK_CHANNEL_ENABLED: 'true' }),
    ).toThrow(/MOCK_CHANNEL_ENABLED: the mock channel never runs in production/);
    const config = {
      ...loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'mysql://x@h/db', REDIS_URL: 'redis://h', MOCK_CHANNEL_ENABLED: 'true' }),
    };
    expect(buildHandlers(config).filter((handler) => handler.channel === 'mock')).toHaveLength(2);
    expect(buildHandlers({ ...config, NODE_ENV: 'production' }).filter((handler) => handler.channel === 'mock')).toEqual([]);
  });
});

describe('The tenant command and the cache', () => {
  it('When an operator adds tenants and lists them, then they are registered as given and the service serves them', async () => {
    const ctx = commandContext();
    const shop = uniq('shop');
    expect(await runTenantCommand(ctx, ['add', shop, '--name', 'Demo shop', '--mock'])).toBe(
      `added tenant ${shop} ("Demo shop", mock channel on)\n`,
    );
    const mocked = uniq('mocked');
    expect(await runTenantCommand(ctx, ['add', mocked, '--mock'])).toBe(`added tenant ${mocked} ("${mocked}", mock channel on)\n`);
    expect(await runTenantCommand(ctx, ['add', shop, '--no-mock'])).toBe(`updated tenant ${shop} ("Demo shop", mock channel off)\n`);
    expect(await runTenantCommand(ctx, ['add', mocked, '--name', 'Renamed'])).toBe(
      `updated tenant ${mocked} ("Renamed", mock channel on)\n`,
    );
    const plain = uniq('plain');
    expect(await runTenantCommand(ctx, ['add', plain])).toBe(`added tenant ${plain} ("${plain}", mock channel off)\n`);
    const list = await runTenantCommand(ctx, ['list']);
    expect(list.split('\n')[0]).toMatch(/^TENANT +MOCK +NAME$/);
    expect(list).toMatch(new RegExp(`^${shop} +off +Demo shop$`, 'm'));
    expect(list).toMatch(new RegExp(`^${mocked} +on +Renamed$`, 'm'));
    expect(list).toMatch(new RegExp(`^${plain} +off +${plain}$`, 'm'));
    expect((await h.call('createOrder', orderRequest(shop))).replayed).toBe(false);

    await expect(runTenantCommand(ctx, ['add', 'bad tenant'])).rejects.toThrow('tenant_id: must be 1-64 characters of A-Z a-z 0-9 _ -');
    await expect(runTenantCommand(ctx, ['add', uniq('t'), '--name', 'a\u001bb'])).rejects.toThrow(
      'name: must be 1-128 characters without control characters',
    );
    await expect(runTenantCommand(ctx, ['add', uniq('t'), '--bogus'])).rejects.toThrow('unexpected argument "--bogus"');
    await expect(runTenantCommand(ctx, ['remove', shop])).rejects.toThrow(/^usage: npm run tenant -- add/);
  });

  it('When an operator adds a tenant with --mock, then it has the mock channel: ListPayWays shows it enabled and an order is paid with it', async () => {
    const tenant = uniq('t-addmock');
    await runTenantCommand(commandContext(), ['add', tenant, '--mock']);
    expect(await mockWaysEnabled(tenant)).toEqual([true, true]);
    const order = await paidOrder(h, tenant, 1200n);
    expect(order.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
    const attempt = await h.service.deps.db.payAttempt.findFirstOrThrow({ where: { payNo: order.payNo } });
    expect(h.gateway.trade(attempt.attemptNo)?.mch_id).toBe(`M-${tenant}`);
  });

  it('When an operator runs add --no-mock for a tenant with the mock, then its mock account is gone: the mock pay ways are disabled and Prepay is FAILED_PRECONDITION', async () => {
    const ctx = commandContext();
    const tenant = uniq('t-nomock');
    await runTenantCommand(ctx, ['add', tenant, '--mock']);
    expect(await runTenantCommand(ctx, ['add', tenant, '--no-mock'])).toBe(`updated tenant ${tenant} ("${tenant}", mock channel off)\n`);
    expect(await h.service.deps.db.channelAccount.count({ where: { tenantId: tenant } })).toBe(0);
    expect(await mockWaysEnabled(tenant)).toEqual([false, false]);

    const order = await createOrder(h, tenant);
    const err = await grpcError(
      h.call('prepay', { order: ref(order), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' }),
      status.FAILED_PRECONDITION,
    );
    expect(err.details).toBe(`pay way MOCK is not enabled for tenant ${tenant}: the mock channel is off for it`);
    expect(await runTenantCommand(ctx, ['add', tenant, '--no-mock'])).toBe(`updated tenant ${tenant} ("${tenant}", mock channel off)\n`);
  });

  it('When NODE_ENV is production, then add --mock is refused with a clear message and nothing is written; --no-mock still removes', async () => {
    const tenant = uniq('t-prodmock');
    const before = await rowCounts(tenant);
    await expect(runTenantCommand(commandContext('production'), ['add', tenant, '--mock'])).rejects.toThrow(
      'the mock channel is never offered in production (NODE_ENV=production): no mock account saved',
    );
    expect(await rowCounts(tenant)).toEqual(before);

    await runTenantCommand(commandContext(), ['add', tenant, '--mock']);
    expect(await runTenantCommand(commandContext('production'), ['add', tenant, '--no-mock'])).toBe(
      `updated tenant ${tenant} ("${tenant}", mock channel off)\n`,
    );
  });

  it('When run as `npm run tenant`, then add and list work against DATABASE_URL', async () => {
    const run = promisify(execFile);
    const root = path.resolve(__dirname, '../..');
    const tenant = uniq('cli');
    const env = { ...process.env, LOG_LEVEL: 'silent' };
    const added = await run('npm', ['run', '--silent', 'tenant', '--', 'add', tenant, '--name', 'Demo shop', '--mock'], { cwd: root, env });
    expect(added.stdout).toBe(`added tenant ${tenant} ("Demo shop", mock channel on)\n`);
    const listed = await run('npm', ['run', '--silent', 'tenant', '--', 'list'], { cwd: root, env });
    expect(listed.stdout).toMatch(new RegExp(`^${tenant} +on +Demo shop$`, 'm'));
  }, 60_000);

  it('When a registered tenant is read again within the TTL, then the cache answers; an unknown one is asked for every time', async () => {
    const db = h.service.deps.db;
    const tenants = new Tenants(db, 60_000);
    const id = await newTenant(h, 't-cache');
    expect((await tenants.get(id))?.name).toBe(`test tenant ${id}`);
    await db.tenant.update({ where: { id }, data: { name: 'renamed' } });
    expect((await tenants.get(id))?.name).toBe(`test tenant ${id}`); // cached
    expect((await new Tenants(db, 0).get(id))?.name).toBe('renamed');

    const later = uniq('t-later');
    expect(await tenants.get(later)).toBeUndefined();
    await db.tenant.create({ data: { id: later, name: later } });
    expect((await tenants.get(later))?.id).toBe(later); // a miss is not cached
  });
});
