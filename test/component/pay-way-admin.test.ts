import { status } from '@grpc/grpc-js';
import { mintCaller } from '../../src/grpc/caller-token';
import type { UpdatePayWayRequest, UpdatePayWayResponse } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { runPayWayCommand, UsageError } from '../../scripts/pay-way';
import { createOrder, ref } from '../support/orders';
import { decodeStatus } from '../support/status-details';
import { bearer, eventually, grpcError, newTenant, startHarness, TEST_CALLER, type Harness } from '../support/harness';

/*
 * Issue 14 §4: operators manage pay ways without SQL. UpdatePayWay (operate) and `npm run pay-way` switch a pay
 * way on or off for a tenant and set its fee rule and display order, audited with the actor, compare-and-set on
 * the version; every instance applies a change within PAY_WAY_CACHE_MS.
 */

let h: Harness;
const operator = mintCaller('ops-alice', { tenants: '*', permissions: ['operate'] });
const payer = mintCaller('shop-payer', { tenants: '*', permissions: ['pay'] });

beforeAll(async () => {
  h = await startHarness({ PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, operator.entry, payer.entry]) });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const update = (req: Partial<UpdatePayWayRequest> & { tenantId: string }, token = operator.token) =>
  new Promise<UpdatePayWayResponse>((resolve, reject) => {
    h.client.updatePayWay(
      { payWay: PayWay.PAY_WAY_MOCK, expectedVersion: 0n, enabled: undefined, feeRule: undefined, displayOrder: undefined, ...req },
      bearer(token),
      { deadline: Date.now() + 30_000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });

const prepay = (order: PayOrder, payWay = PayWay.PAY_WAY_MOCK, on: Harness = h) =>
  on.call('prepay', { order: ref(order), payWay, clientIp: '', payerId: '' });

const payWayOf = async (tenantId: string, payWay = PayWay.PAY_WAY_MOCK) =>
  (await h.call('listPayWays', { tenantId })).payWays.find((w) => w.payWay === payWay)!;

/** Every audit row and config row of the tenant, to prove a refused call wrote nothing. */
const rowsOf = async (tenantId: string) =>
  JSON.stringify(
    [
      await h.service.deps.db.payWayConfig.findMany({ where: { tenantId } }),
      await h.service.deps.db.payWayChange.findMany({ where: { tenantId }, orderBy: { id: 'asc' } }),
    ],
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );

describe('UpdatePayWay', () => {
  it('When an operator disables a pay way, then Prepay refuses it with a readable reason, the change is audited with the actor, and enabling it again lets Prepay through', async () => {
    const tenant = await newTenant(h, 'pwoff');
    const order = await createOrder(h, tenant);
    const before = await payWayOf(tenant);
    expect(before).toMatchObject({ enabled: true, version: 0n, updatedBy: '', displayOrder: 0, feeRule: { rateBps: 0, minFee: 0n } });

    const res = (await update({ tenantId: tenant, enabled: false })) as {
      payWay: { enabled: boolean; version: bigint; updatedBy: string };
    };
    expect(res.payWay).toMatchObject({ enabled: false, version: 1n, updatedBy: 'ops-alice' });

    const err = await grpcError(prepay(order), status.FAILED_PRECONDITION);
    expect(err.details).toBe(`pay way MOCK is not enabled for tenant ${tenant}: an operator switched it off for this tenant`);
    expect(decodeStatus(err).errorInfo).toMatchObject({ reason: 'PAY_WAY_DISABLED', metadata: { payWay: 'MOCK', tenantId: tenant } });
    expect(await payWayOf(tenant)).toMatchObject({ enabled: false, version: 1n });

    await update({ tenantId: tenant, expectedVersion: 1n, enabled: true });
    expect((await prepay(order)).attemptNo).toMatch(/^[0-9A-Z]+$/);

    const changes = await h.service.deps.db.payWayChange.findMany({ where: { tenantId: tenant }, orderBy: { id: 'asc' } });
    expect(changes.map((c) => ({ version: c.version, actor: c.actor, payWay: c.payWay, before: c.before, after: c.after }))).toEqual([
      {
        version: 1,
        actor: 'ops-alice',
        payWay: 'MOCK',
        before: null,
        after: { displayOrder: 0, enabled: false, feeRateBps: 0, minFee: '0' },
      },
      {
        version: 2,
        actor: 'ops-alice',
        payWay: 'MOCK',
        before: { displayOrder: 0, enabled: false, feeRateBps: 0, minFee: '0' },
        after: { displayOrder: 0, enabled: true, feeRateBps: 0, minFee: '0' },
      },
    ]);
  });

  it('When a pay way is disabled while an attempt on it is open, then that attempt still completes: the buyer pays and the order is SUCCESS', async () => {
    const tenant = await newTenant(h, 'pwopen');
    const order = await createOrder(h, tenant);
    const pre = await prepay(order);
    await update({ tenantId: tenant, enabled: false });
    h.gateway.pay(pre.attemptNo);
    const paid = await eventually(async () => {
      const { order: o } = await h.call('query', { order: ref(order), sync: false });
      return o?.status === OrderStatus.ORDER_STATUS_SUCCESS && o;
    });
    expect(paid.status).toBe(OrderStatus.ORDER_STATUS_SUCCESS);
  });

  it('When two operators change the same pay way from the same version, then the second is FAILED_PRECONDITION (PAY_WAY_VERSION_CONFLICT) and writes nothing', async () => {
    const tenant = await newTenant(h, 'pwcas');
    await update({ tenantId: tenant, feeRule: { rateBps: 30, minFee: 5n } });
    const rows = await rowsOf(tenant);
    const err = await grpcError(update({ tenantId: tenant, enabled: false }), status.FAILED_PRECONDITION);
    expect(decodeStatus(err).errorInfo).toMatchObject({
      reason: 'PAY_WAY_VERSION_CONFLICT',
      metadata: { tenantId: tenant, payWay: 'MOCK', version: '1' },
    });
    expect(await rowsOf(tenant)).toBe(rows);
    expect(await payWayOf(tenant)).toMatchObject({ enabled: true, feeRateBps: 30, feeRule: { rateBps: 30, minFee: 5n }, version: 1n });
  });

  it('When a change sets only the display order, then the rest stays, and ListPayWays is sorted by display order then catalog order', async () => {
    const tenant = await newTenant(h, 'pworder');
    await update({ tenantId: tenant, payWay: PayWay.PAY_WAY_MOCK_QR, feeRule: { rateBps: 55, minFee: 1n } });
    await update({ tenantId: tenant, payWay: PayWay.PAY_WAY_MOCK_QR, expectedVersion: 1n, displayOrder: -10 });
    await update({ tenantId: tenant, payWay: PayWay.PAY_WAY_ALIPAY_APP, displayOrder: 5 });
    const { payWays } = await h.call('listPayWays', { tenantId: tenant });
    expect(payWays[0]).toMatchObject({
      payWay: PayWay.PAY_WAY_MOCK_QR,
      displayOrder: -10,
      feeRule: { rateBps: 55, minFee: 1n },
      version: 2n,
    });
    expect(payWays.at(-1)).toMatchObject({ payWay: PayWay.PAY_WAY_ALIPAY_APP, displayOrder: 5, feeRateBps: 60 });
    expect(payWays.map((w) => w.displayOrder)).toEqual([...payWays.map((w) => w.displayOrder)].sort((a, b) => a - b));
  });

  const BAD: [string, Partial<UpdatePayWayRequest>, string][] = [
    ['no change at all', {}, 'enabled'],
    ['a fee rate over 100 %', { feeRule: { rateBps: 10001, minFee: 0n } }, 'fee_rule.rate_bps'],
    ['a negative fee rate', { feeRule: { rateBps: -1, minFee: 0n } }, 'fee_rule.rate_bps'],
    ['a negative minimum fee', { feeRule: { rateBps: 10, minFee: -1n } }, 'fee_rule.min_fee'],
    ['a huge minimum fee', { feeRule: { rateBps: 10, minFee: 100_000_001n } }, 'fee_rule.min_fee'],
    ['a display order out of range', { displayOrder: 1_000_001 }, 'display_order'],
    ['no pay way', { payWay: PayWay.PAY_WAY_UNSPECIFIED, enabled: false }, 'pay_way'],
    ['a pay way number nobody knows', { payWay: 999 as PayWay, enabled: false }, 'pay_way'],
    ['a negative expected version', { expectedVersion: -1n, enabled: false }, 'expected_version'],
  ];
  it.each(BAD)(
    'When the request has %s, then it is INVALID_ARGUMENT naming the field and nothing is written',
    async (_what, req, field) => {
      const tenant = await newTenant(h, 'pwbad');
      const rows = await rowsOf(tenant);
      const err = await grpcError(update({ tenantId: tenant, ...req }), status.INVALID_ARGUMENT);
      expect(decodeStatus(err).errorInfo?.metadata).toMatchObject({ field });
      expect(await rowsOf(tenant)).toBe(rows);
    },
  );

  it('When a caller with only pay permission calls it, then PERMISSION_DENIED and nothing is written; an operator of another tenant is refused too', async () => {
    const tenant = await newTenant(h, 'pwauthz');
    const rows = await rowsOf(tenant);
    await grpcError(update({ tenantId: tenant, enabled: false }, payer.token), status.PERMISSION_DENIED);
    const other = mintCaller('ops-other', { tenants: ['someone-else'], permissions: ['operate'] });
    const g = await startHarness({ PAYSVC_CALLERS: JSON.stringify([other.entry]) }, h);
    try {
      const err = await grpcError(
        new Promise((resolve, reject) =>
          g.client.updatePayWay(
            {
              tenantId: tenant,
              payWay: PayWay.PAY_WAY_MOCK,
              expectedVersion: 0n,
              enabled: false,
              feeRule: undefined,
              displayOrder: undefined,
            },
            bearer(other.token),
            (e, r) => (e ? reject(e) : resolve(r)),
          ),
        ),
        status.PERMISSION_DENIED,
      );
      expect(err.details).toMatch(/may not act for tenant/);
    } finally {
      await g.close();
    }
    expect(await rowsOf(tenant)).toBe(rows);
  });
});

describe('Across instances', () => {
  it('When one instance disables a pay way, then another instance refuses Prepays with it within its PAY_WAY_CACHE_MS', async () => {
    const ttlMs = 1000;
    const g = await startHarness({ PAY_WAY_CACHE_MS: String(ttlMs) }, h);
    try {
      const tenant = await newTenant(h, 'pwttl');
      const first = await createOrder(h, tenant);
      await prepay(first, PayWay.PAY_WAY_MOCK, g); // g has read (and cached) the tenant's pay ways
      await update({ tenantId: tenant, enabled: false });
      const disabledAt = Date.now();
      const order = await createOrder(h, tenant);
      const refusedAt = await eventually(async () => {
        try {
          await prepay(order, PayWay.PAY_WAY_MOCK, g);
          return undefined;
        } catch (err) {
          if ((err as { code?: number }).code !== status.FAILED_PRECONDITION) throw err;
          return Date.now();
        }
      }, ttlMs + 10_000);
      // Bounded by the TTL, plus the time a loaded machine takes for one Prepay round trip.
      expect(refusedAt - disabledAt).toBeLessThan(ttlMs + 5_000);
      // The instance that made the change applied it at once.
      await grpcError(prepay(await createOrder(h, tenant)), status.FAILED_PRECONDITION);
    } finally {
      await g.close();
    }
  });
});

describe('npm run pay-way', () => {
  it('When an operator sets and lists a pay way from the CLI, then the same use case writes it, audited as cli:<user>, with compare-and-set on --expect', async () => {
    const tenant = await newTenant(h, 'pwcli');
    const db = h.service.deps.db;
    expect(await runPayWayCommand(db, ['set', tenant, 'MOCK_QR', '--disable', '--fee-bps', '45', '--order', '3'], 'cli:tester')).toBe(
      `pay way MOCK_QR of tenant ${tenant} is now version 1: disabled, fee 45 bps (at least 0 fen), display order 3\n`,
    );
    expect(await runPayWayCommand(db, ['set', tenant, 'MOCK_QR', '--min-fee', '7'], 'cli:tester')).toMatch(
      /version 2: disabled, fee 45 bps \(at least 7 fen\), display order 3/,
    );
    await expect(runPayWayCommand(db, ['set', tenant, 'MOCK_QR', '--enable', '--expect', '1'], 'cli:tester')).rejects.toThrow(
      /is at version 2, not 1/,
    );
    const list = await runPayWayCommand(db, ['list', tenant]);
    expect(
      list
        .split('\n')
        .find((l) => l.startsWith('MOCK_QR '))
        ?.split(/\s+/),
    ).toEqual(['MOCK_QR', 'off', '45', '7', '3', '2', 'cli:tester']);
    expect(await runPayWayCommand(db, ['history', tenant, 'MOCK_QR'])).toMatch(/MOCK_QR\s+2\s+cli:tester/);
    expect(await payWayOf(tenant, PayWay.PAY_WAY_MOCK_QR)).toMatchObject({ enabled: false, updatedBy: 'cli:tester', version: 2n });
    await expect(runPayWayCommand(db, ['set', tenant])).rejects.toThrow(UsageError);
    await expect(runPayWayCommand(db, ['set', tenant, 'NOPE', '--enable'])).rejects.toThrow(/pay_way: is not a pay way/);
  });
});
