import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { authorize, METHOD_PERMISSIONS, type Permission } from '../../src/grpc/auth';
import { mintCaller } from '../../src/grpc/caller-token';
import {
  CancelRequest,
  CreateOrderRequest,
  GetStatisticsRequest,
  ListEventsRequest,
  ListRefundsRequest,
  ListNotifiesRequest,
  ListOrdersRequest,
  ListPayWaysRequest,
  PaymentServiceClient,
  PaymentServiceService,
  PrepayRequest,
  QueryRefundRequest,
  QueryRequest,
  RefundRequest,
  ReplayEventRequest,
  UpdatePayWayRequest,
  WatchOrderRequest,
} from '../../src/gen/payment/v1/payment_service';
import {
  ListReconciliationDifferencesRequest,
  ListReconciliationRunsRequest,
  StartReconciliationRequest,
} from '../../src/gen/payment/v1/reconciliation';
import { PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { createOrder, orderRequest, paidOrder, ref } from '../support/orders';
import { alipayTenant, type AlipayTenant } from '../support/channels';
import { bearer, eventually, newTenant, startHarness, TEST_CALLER, uniq, type Harness } from '../support/harness';
import { tenantScopedTables } from '../support/tenant-rows';

/*
 * Every RPC of the service definition × {no credential, bad credential, other tenant, missing permission,
 * allowed}: the exact code, and for every refusal, that no row of any table for the tenants involved changed.
 * `h` sets up the fixtures as the all-powerful test caller; `g` (a second instance over the same database) is
 * the gate under test, with callers that each hold part of a grant.
 */

const METHODS = Object.entries(PaymentServiceService).map(([key, d]) => ({
  key: key as keyof typeof PaymentServiceService,
  name: d.path.split('/').pop()!,
  stream: d.responseStream,
}));

let h: Harness;
let g: Harness;
let tenantA: string;
let tenantB: string;
const payerA = mintCaller('payer-a', { tenants: ['pending'], permissions: ['pay'] });
const operatorA = mintCaller('operator-a', { tenants: ['pending'], permissions: ['operate'] });
const allB = mintCaller('all-of-b', { tenants: ['pending'], permissions: ['pay', 'operate'] });
let paid: PayOrder;
let waiting: PayOrder;
let outRefundNo: string;
let eventId: string;
let alipayA: AlipayTenant;
/** A Beijing day with a finished reconciliation run of tenant A at alipay (seeded). */
const RECON_DAY = '2026-11-20';

/** A request for `tenantId` that, if allowed, would do real work (and write, for the mutations). */
const REQUESTS: Record<string, (tenantId: string) => unknown> = {
  CreateOrder: (tenantId) => CreateOrderRequest.fromPartial(orderRequest(tenantId)),
  Prepay: (tenantId) =>
    PrepayRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: waiting.payNo } }, payWay: PayWay.PAY_WAY_MOCK }),
  Query: (tenantId) => QueryRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: paid.payNo } } }),
  Cancel: (tenantId) => CancelRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: waiting.payNo } } }),
  Refund: (tenantId) =>
    RefundRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: paid.payNo } }, outRefundNo: uniq('R'), amount: 1n }),
  QueryRefund: (tenantId) => QueryRefundRequest.fromPartial({ tenantId, outRefundNo }),
  ListPayWays: (tenantId) => ListPayWaysRequest.fromPartial({ tenantId }),
  ListNotifies: (tenantId) => ListNotifiesRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: paid.payNo } } }),
  ListEvents: (tenantId) => ListEventsRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: paid.payNo } } }),
  ListRefunds: (tenantId) => ListRefundsRequest.fromPartial({ tenantId, payNo: paid.payNo }),
  ReplayEvent: (tenantId) => ReplayEventRequest.fromPartial({ tenantId, eventId }),
  // MOCK_QR: the matrix's Prepay uses MOCK, which this must not switch off.
  UpdatePayWay: (tenantId) =>
    UpdatePayWayRequest.fromPartial({ tenantId, payWay: PayWay.PAY_WAY_MOCK_QR, expectedVersion: 0n, displayOrder: 5 }),
  ListOrders: (tenantId) => ListOrdersRequest.fromPartial({ tenantId }),
  GetStatistics: (tenantId) =>
    GetStatisticsRequest.fromPartial({
      tenantId,
      createdFrom: new Date(Date.now() - 86400_000),
      createdTo: new Date(Date.now() + 86400_000),
    }),
  WatchOrder: (tenantId) => WatchOrderRequest.fromPartial({ order: { tenantId, key: { $case: 'payNo', value: paid.payNo } } }),
  ListReconciliationRuns: (tenantId) => ListReconciliationRunsRequest.fromPartial({ tenantId, channel: 'alipay' }),
  ListReconciliationDifferences: (tenantId) =>
    ListReconciliationDifferencesRequest.fromPartial({ tenantId, channel: 'alipay', day: RECON_DAY }),
  StartReconciliation: (tenantId) => StartReconciliationRequest.fromPartial({ tenantId, channel: 'alipay', day: RECON_DAY }),
};

/** Calls `method` on the gate with `md` (nothing added); resolves to the status code (a stream: its first message or error). */
function codeOf(method: (typeof METHODS)[number], request: unknown, md: Metadata): Promise<status> {
  const client = new PaymentServiceClient(g.address, credentials.createInsecure());
  const deadline = Date.now() + 10_000;
  return new Promise<status>((resolve) => {
    if (method.stream) {
      const stream = (client[method.key] as unknown as (r: unknown, m: Metadata, o: object) => NodeJS.EventEmitter & { cancel(): void })(
        request,
        md,
        { deadline },
      );
      stream.on('data', () => {
        resolve(status.OK);
        stream.cancel();
      });
      stream.on('error', (e: ServiceError) => resolve(e.code));
      stream.on('status', (s: { code: status }) => resolve(s.code));
      return;
    }
    const fn = client[method.key] as unknown as (r: unknown, m: Metadata, o: object, cb: (e: ServiceError | null) => void) => void;
    fn.call(client, request, md, { deadline }, (err) => resolve(err ? err.code : status.OK));
  }).finally(() => client.close());
}

/** Every row of every table that belongs to the two tenants (by tenant_id, their orders' pay_no, their events' id). */
async function snapshot(): Promise<string> {
  const db = h.service.deps.db;
  const out: Record<string, unknown> = {};
  for (const { table, where } of await tenantScopedTables(db, 2)) {
    out[table] = await db.$queryRawUnsafe(`SELECT * FROM \`${table}\` WHERE ${where} ORDER BY 1`, tenantA, tenantB);
  }
  return JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

beforeAll(async () => {
  h = await startHarness();
  tenantA = await newTenant(h, 'authA');
  tenantB = await newTenant(h, 'authB');
  for (const [c, t] of [
    [payerA, tenantA],
    [operatorA, tenantA],
    [allB, tenantB],
  ] as const)
    c.entry.tenants = [t];
  g = await startHarness({ PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, payerA.entry, operatorA.entry, allB.entry]) }, h);
  paid = await paidOrder(h, tenantA);
  outRefundNo = uniq('R');
  await h.call('refund', { order: ref(paid), outRefundNo, amount: 100n, reason: '' });
  waiting = await createOrder(h, tenantA);
  alipayA = await alipayTenant(h, tenantA);
  await h.service.deps.db.$executeRaw`INSERT INTO recon_run (tenant_id, channel, day, status, actor, started_at, finished_at)
    VALUES (${tenantA}, 'alipay', ${RECON_DAY}, 'DONE', 'system:reconcile', NOW(3), NOW(3))`;
  // Settled: every event delivered, so no background work touches these tenants' rows while the matrix runs.
  const events = await eventually(async () => {
    const { events: e } = await h.call('listEvents', { pageSize: 0, pageToken: '', order: ref(paid) });
    return e.length >= 2 && e.every((x) => x.deliveredTime) && e;
  }, 15_000);
  eventId = events[0].event!.eventId;
}, 60_000);
afterAll(async () => {
  await g?.close();
  await h?.close();
  await alipayA?.close();
});

describe('the permission table', () => {
  it('When the service definition is read, then every RPC has a permission and the table names no other method', () => {
    expect(Object.keys(METHOD_PERMISSIONS).sort()).toEqual(METHODS.map((m) => m.name).sort());
    expect(Object.keys(REQUESTS).sort()).toEqual(METHODS.map((m) => m.name).sort());
  });

  it('When a method is missing from the table, then even a caller with every permission is denied', () => {
    const all = { name: 'root', tenants: '*' as const, permissions: new Set<Permission>(['pay', 'operate']) };
    expect(() => authorize(all, 'DropEverything', 't')).toThrow(/may not call DropEverything/);
  });
});

const grantFor = (m: (typeof METHODS)[number]) => METHOD_PERMISSIONS[m.name];
const CASES: { kind: string; md: (m: (typeof METHODS)[number]) => Metadata; tenant: () => string; code: status }[] = [
  { kind: 'no credential', md: () => new Metadata(), tenant: () => tenantA, code: status.UNAUTHENTICATED },
  { kind: 'a bad credential', md: () => bearer(`paysvc_${'x'.repeat(43)}`), tenant: () => tenantA, code: status.UNAUTHENTICATED },
  { kind: 'another tenant', md: () => bearer(allB.token), tenant: () => tenantA, code: status.PERMISSION_DENIED },
  {
    kind: 'a missing permission',
    md: (m) => bearer(grantFor(m) === 'pay' ? operatorA.token : payerA.token),
    tenant: () => tenantA,
    code: status.PERMISSION_DENIED,
  },
];

describe.each(CASES)('With $kind', ({ md, tenant, code }) => {
  it.each(METHODS)('When $name is called, then it is refused with the exact code and nothing is written', async (m) => {
    const before = await snapshot();
    expect(await codeOf(m, REQUESTS[m.name](tenant()), md(m))).toBe(code);
    expect(await snapshot()).toBe(before);
  });
});

describe('With a caller whose grant covers the tenant and the method', () => {
  // In service order: Prepay opens the waiting order before Cancel closes it.
  it.each(METHODS)('When $name is called, then it is OK', async (m) => {
    const token = grantFor(m) === 'pay' ? payerA.token : operatorA.token;
    expect(await codeOf(m, REQUESTS[m.name](tenantA), bearer(token))).toBe(status.OK);
  });
});
