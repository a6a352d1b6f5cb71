import { status } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { applyTradeStatus } from '../../src/app/apply-trade-status';
import { ERROR_DOMAIN, REASONS, type Reason } from '../../src/domain/reasons';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { eventually, grpcError, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { createOrder, orderRequest, paidOrder, ref } from '../support/orders';
import { decodeStatus } from '../support/status-details';
import { UNIT_TESTED_REASONS } from '../unit/error-reasons.cases';

/**
 * Every reason a caller can meet, provoked through the real server, and read back the way a program reads it:
 * google.rpc.Status from `grpc-status-details-bin`, decoded with @bufbuild/protobuf from buf's descriptors.
 * Reasons no request can provoke today (races, faults, fallbacks) are covered in test/unit/error-reasons.test.ts.
 */
let h: Harness;
let tenant: string;
beforeAll(async () => {
  h = await startHarness();
  tenant = await newTenant(h, 't-reasons');
});
const others: Harness[] = [];
afterAll(async () => {
  for (const other of others) await other.close();
  await h?.close();
});
afterEach(() => h.gateway.clearFaults());

const prepay = (o: PayOrder, payWay = PayWay.PAY_WAY_MOCK) => h.call('prepay', { order: ref(o), payWay, clientIp: '', payerId: '' });

interface Scenario {
  /** The call that fails, after whatever setup it needs. */
  provoke: () => Promise<{
    failing: Promise<unknown>;
    metadata?: Record<string, string>;
    violations?: { field: string; description: string }[];
  }>;
  /** Trailers of earlier versions that must still come. */
  legacy?: Record<string, string>;
}

const SCENARIOS: Partial<Record<Reason, Scenario>> = {
  INVALID_ARGUMENT: {
    provoke: async () => ({
      failing: h.call('createOrder', orderRequest(tenant, { amount: 0n })),
      metadata: { field: 'amount' },
      violations: [{ field: 'amount', description: 'must be a positive number of minor units' }],
    }),
    legacy: { field: 'amount' },
  },
  TENANT_NOT_FOUND: {
    provoke: async () => {
      const nobody = uniq('t-nobody');
      return { failing: h.call('listPayWays', { tenantId: nobody }), metadata: { tenantId: nobody } };
    },
  },
  ORDER_NOT_FOUND: {
    provoke: async () => ({
      failing: h.call('query', { order: { tenantId: tenant, key: { $case: 'outOrderNo', value: uniq('none') } }, sync: false }),
    }),
  },
  REFUND_NOT_FOUND: {
    provoke: async () => ({ failing: h.call('queryRefund', { tenantId: tenant, outRefundNo: uniq('none'), sync: false }) }),
  },
  EVENT_NOT_FOUND: {
    provoke: async () => ({ failing: h.call('replayEvent', { tenantId: tenant, eventId: randomUUID() }) }),
  },
  RECONCILIATION_RUN_NOT_FOUND: {
    provoke: async () => ({
      failing: h.call('listReconciliationDifferences', {
        tenantId: tenant,
        runId: 0n,
        channel: 'alipay',
        day: '2026-11-01',
        kinds: [],
        pageSize: 0,
        pageToken: '',
      }),
      metadata: { tenantId: tenant, channel: 'alipay', day: '2026-11-01' },
    }),
  },
  IDEMPOTENCY_CONFLICT: {
    provoke: async () => {
      const first = await createOrder(h, tenant);
      return {
        failing: h.call('createOrder', orderRequest(tenant, { outOrderNo: first.outOrderNo, amount: 1n })),
        metadata: { conflictingFields: 'amount', key: `out_order_no ${first.outOrderNo}`, payNo: first.payNo },
      };
    },
    legacy: { 'conflicting-fields': 'amount' },
  },
  ORDER_ALREADY_PAID: {
    provoke: async () => {
      const paid = await paidOrder(h, tenant);
      return { failing: h.call('cancel', { order: ref(paid), reason: '' }), metadata: { payNo: paid.payNo, status: 'SUCCESS' } };
    },
  },
  ORDER_CLOSED: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      await h.call('cancel', { order: ref(order), reason: 'buyer left' });
      return { failing: prepay(order), metadata: { payNo: order.payNo, status: 'CLOSED' } };
    },
  },
  ORDER_EXPIRED: {
    provoke: async () => {
      const order = await createOrder(h, tenant, { expireSeconds: 60 });
      const expireAt = new Date(Date.now() - 1000);
      await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt } });
      return { failing: prepay(order), metadata: { payNo: order.payNo, expireAt: expireAt.toISOString() } };
    },
  },
  ORDER_NOT_PAID: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      return {
        failing: h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 100n, reason: '' }),
        metadata: { payNo: order.payNo, status: 'WAIT_PAY' },
      };
    },
  },
  ATTEMPT_NOT_FOUND: {
    provoke: async () => {
      const paid = await paidOrder(h, tenant);
      const other = await createOrder(h, tenant);
      const { attemptNo } = await prepay(other);
      return {
        failing: h.call('refund', { order: ref(paid), outRefundNo: uniq('R'), amount: 100n, reason: '', attemptNo }),
        metadata: { payNo: paid.payNo, attemptNo },
      };
    },
  },
  ATTEMPT_NOT_PAID: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      const { attemptNo } = await prepay(order);
      return {
        failing: h.call('refund', { order: ref(order), outRefundNo: uniq('R'), amount: 100n, reason: '', attemptNo }),
        metadata: { payNo: order.payNo, attemptNo, status: 'OPEN' },
      };
    },
  },
  REFUND_EXCEEDS_REFUNDABLE: {
    provoke: async () => {
      const paid = await paidOrder(h, tenant, 10000n);
      return {
        failing: h.call('refund', { order: ref(paid), outRefundNo: uniq('R'), amount: 10001n, reason: '' }),
        metadata: { payNo: paid.payNo, status: 'SUCCESS', amount: '10001', refundable: '10000' },
      };
    },
  },
  PAY_ATTEMPT_LIMIT: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      for (let i = 0; i < 3; i++) {
        const attempt = await h.service.deps.db.payAttempt.findUniqueOrThrow({ where: { attemptNo: (await prepay(order)).attemptNo } });
        await applyTradeStatus(h.service.deps, attempt, { outcome: 'fail', channelStatus: 'PAYERROR' }, { cause: 'SYNC' });
      }
      return { failing: prepay(order), metadata: { payNo: order.payNo, status: 'FAILED', limit: '3', failedAttempts: '3' } };
    },
  },
  PAY_WAY_SWITCH_LIMIT: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      for (const way of [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR, PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR])
        await prepay(order, way);
      return { failing: prepay(order, PayWay.PAY_WAY_MOCK), metadata: { payNo: order.payNo, limit: '3' } };
    },
  },
  PAY_WAY_DISABLED: {
    provoke: async () => {
      const noMock = await newTenant(h, 't-nomock', { mock: false });
      const order = await createOrder(h, noMock);
      return { failing: prepay(order), metadata: { payWay: 'MOCK', tenantId: noMock } };
    },
  },
  PAY_WAY_VERSION_CONFLICT: {
    provoke: async () => {
      const fresh = await newTenant(h, 't-payway');
      return {
        failing: h.call('updatePayWay', {
          tenantId: fresh,
          payWay: PayWay.PAY_WAY_MOCK,
          expectedVersion: 3n,
          enabled: false,
          feeRule: undefined,
          displayOrder: undefined,
        }),
        metadata: { tenantId: fresh, payWay: 'MOCK', version: '0' },
      };
    },
  },
  CHANNEL_ACCOUNT_MISSING: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      return { failing: prepay(order, PayWay.PAY_WAY_ALIPAY_QR), metadata: { tenantId: tenant, channel: 'alipay' } };
    },
  },
  CHANNEL_REFUSED: {
    provoke: async () => {
      // The channel already holds this attempt's trade for another amount: it refuses to open it again.
      const order = await createOrder(h, tenant);
      const { attemptNo } = await prepay(order);
      const db = h.service.deps.db;
      await db.payAttempt.update({ where: { attemptNo }, data: { status: 'CREATED', payload: undefined } });
      await db.payOrder.update({ where: { payNo: order.payNo }, data: { amount: 12345n } });
      return { failing: prepay(order), metadata: { payNo: order.payNo, payWay: 'MOCK' } };
    },
  },
  CHANNEL_UNAVAILABLE: {
    provoke: async () => {
      const order = await createOrder(h, tenant);
      h.gateway.inject({ kind: 'serverError' }, 1);
      return { failing: prepay(order), metadata: { payNo: order.payNo, payWay: 'MOCK' } };
    },
  },
  PAY_WAY_NOT_DEPLOYED: {
    provoke: async () => {
      // An order paid with the mock, refunded through an instance deployed without it.
      const paid = await paidOrder(h, tenant);
      const noMock = await startHarness({ MOCK_CHANNEL_ENABLED: 'false' }, { gateway: h.gateway, gatewayUrl: h.gatewayUrl });
      others.push(noMock);
      return {
        failing: noMock.call('refund', { order: ref(paid), outRefundNo: uniq('R'), amount: 1n, reason: '' }),
        metadata: { payWay: 'MOCK' },
      };
    },
  },
};

describe('Error reasons, one per scenario, as a program reads them', () => {
  it.each(Object.entries(SCENARIOS) as [Reason, Scenario][])(
    'When a call meets %s, then its status carries that reason, its code, the metadata and the details it promises',
    async (reason, scenario) => {
      const spec = REASONS[reason];
      const { failing, metadata = {}, violations } = await scenario.provoke();
      const err = await grpcError(failing, status[spec.code]);
      const decoded = decodeStatus(err);
      expect(decoded.code).toBe(err.code);
      expect(decoded.message).toBe(err.details);
      expect(decoded.errorInfo).toEqual({ reason, domain: ERROR_DOMAIN, metadata: expect.objectContaining(metadata) });
      expect(decoded.types).toEqual([
        'google.rpc.ErrorInfo',
        ...(violations ? ['google.rpc.BadRequest'] : []),
        ...(spec.retryDelayMs !== undefined ? ['google.rpc.RetryInfo'] : []),
      ]);
      if (violations) expect(decoded.fieldViolations).toEqual(violations);
      expect(decoded.retryDelayMs).toBe(spec.retryDelayMs);
      for (const [key, value] of Object.entries(scenario.legacy ?? {})) expect(err.metadata.get(key)).toEqual([value]);
    },
  );

  it('When a fully refunded order is refunded again, then REFUND_EXCEEDS_REFUNDABLE says nothing is left, not that it is unpaid', async () => {
    const paid = await paidOrder(h, tenant, 500n);
    await h.call('refund', { order: ref(paid), outRefundNo: uniq('R'), amount: 500n, reason: '' });
    await eventually(
      async () => (await h.call('query', { order: ref(paid), sync: false })).order!.status === OrderStatus.ORDER_STATUS_REFUNDED,
    );
    const err = await grpcError(
      h.call('refund', { order: ref(paid), outRefundNo: uniq('R'), amount: 1n, reason: '' }),
      status.FAILED_PRECONDITION,
    );
    expect(decodeStatus(err).errorInfo).toEqual({
      reason: 'REFUND_EXCEEDS_REFUNDABLE',
      domain: ERROR_DOMAIN,
      metadata: { payNo: paid.payNo, status: 'REFUNDED', amount: '1', refundable: '0' },
    });
  });

  it('When the reasons are counted, then each is provoked here or (where no request can) in the unit tests', () => {
    const provoked = Object.keys(SCENARIOS);
    expect(provoked.filter((r) => (UNIT_TESTED_REASONS as readonly string[]).includes(r))).toEqual([]);
    expect([...provoked, ...UNIT_TESTED_REASONS].sort()).toEqual(Object.keys(REASONS).sort());
  });
});
