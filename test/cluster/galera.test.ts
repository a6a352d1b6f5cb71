import { status, type ServiceError } from '@grpc/grpc-js';
import { createConnection, type Connection } from 'mariadb';
import { InMemoryOrderSide, startOrderConsumer, type Verdict } from '../../examples/order-consumer';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { foldAllStatsDeltas } from '../../src/repo/stats-fold';
import type { PaymentEvent } from '../../src/gen/payment/v1/events';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import { FailoverProxy } from '../support/failover-proxy';
import { GaleraCluster } from '../support/galera';
import { eventually, newTenant, startHarness, uniq, type Harness } from '../support/harness';
import { mockPaymentNotify, postMockNotify } from '../support/mock-notify';
import { orderRequest, ref } from '../support/orders';

/*
 * paysvc on a 3-node MariaDB Galera cluster (synchronous multi-primary, scripts/galera.sh): three instances, each
 * writing to its own node, run the races that matter. Galera certifies a transaction at COMMIT against what the
 * other nodes committed meanwhile; a conflict is a deadlock error (1213) where one server would have made the
 * second writer wait, and `FOR UPDATE` / `SKIP LOCKED` lock rows on one node only.
 */

const DATABASE = 'paysvc_galera';
let cluster: GaleraCluster;
/** a, b, c write to nodes 1, 2 and 3. */
let a: Harness;
let b: Harness;
let c: Harness;
let check: Connection;
const TOPIC = uniq('orders.galera.');
const EVENT_PREFIX = `{${uniq('gev')}}`;
const QUEUE_PREFIX = `{${uniq('gq')}}`;
const orderSide = new InMemoryOrderSide();
const verdicts: { event: PaymentEvent; verdict: Verdict }[] = [];
let consumer: ReturnType<typeof startOrderConsumer>;

/** Every instance shares the queues (as replicas do): one sweep, one set of topic queues. */
const instanceEnv = (url: string) => ({
  DATABASE_URL: url,
  QUEUE_PREFIX,
  EVENT_QUEUE_PREFIX: EVENT_PREFIX,
  DATABASE_POOL_SIZE: '6',
  DATABASE_GALERA: 'true',
});

beforeAll(async () => {
  cluster = await GaleraCluster.start({ port: 3361, gcommPort: 4661, database: DATABASE });
  a = await startHarness(instanceEnv(cluster.urls[0]));
  const shared = { gateway: a.gateway, gatewayUrl: a.gatewayUrl };
  b = await startHarness(instanceEnv(cluster.urls[1]), shared);
  c = await startHarness(instanceEnv(cluster.urls[2]), shared);
  check = await cluster.connect(1);
  consumer = startOrderConsumer({
    connection: a.service.deps.queueRedis,
    prefix: EVENT_PREFIX,
    topic: TOPIC,
    store: orderSide,
    onEvent: (event, verdict) => verdicts.push({ event, verdict }),
  });
}, 240_000);

afterAll(async () => {
  // The cluster is stopped whatever the instances do: its processes must never outlive the run.
  const closing = (async () => {
    await consumer?.worker.close();
    await check?.end();
    for (const h of [c, b, a]) await h?.close();
  })();
  await Promise.race([closing, new Promise((r) => setTimeout(r, 30_000).unref())]);
  await cluster?.stop();
  await closing;
}, 90_000);

const instances = () => [a, b, c];
const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as ServiceError).code : status.OK);

async function paid(h: Harness, tenantId: string, amount: bigint): Promise<PayOrder> {
  const { order } = await h.call('createOrder', orderRequest(tenantId, { amount, notifyTopic: TOPIC }));
  const pre = await h.call('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
  h.gateway.pay(pre.attemptNo);
  return eventually(async () => {
    const { order: o } = await h.call('query', { order: ref(order!), sync: false });
    return o!.status === OrderStatus.ORDER_STATUS_SUCCESS && o;
  });
}

/** Each order's audit trail is one chain: every transition starts where the one before it ended. */
async function brokenChains(payNos: string[]): Promise<string[]> {
  const rows = await check.query<{ pay_no: string; from_status: string; to_status: string }[]>(
    `SELECT pay_no, from_status, to_status FROM order_transition WHERE pay_no IN (?) ORDER BY pay_no, id`,
    [payNos],
  );
  const broken: string[] = [];
  rows.forEach((r, i) => {
    const before = rows[i - 1];
    if (before?.pay_no === r.pay_no && before.to_status !== r.from_status)
      broken.push(`${r.pay_no}: ${before.to_status} then ${r.from_status}`);
  });
  return broken;
}

describe('paysvc on a 3-node Galera cluster, one instance per node', () => {
  it('has the schema of the single server: the same tables, columns, indexes and triggers, every table InnoDB with a primary key', async () => {
    const facts = async (conn: Connection, schema: string) =>
      (
        await conn.query<{ f: string }[]>(
          `SELECT CONCAT_WS(' ', table_name, column_name, column_type, is_nullable, IFNULL(column_default, '-'), IFNULL(collation_name, '-')) AS f
             FROM information_schema.columns WHERE table_schema = ?
           UNION ALL SELECT CONCAT_WS(' ', table_name, index_name, non_unique, seq_in_index, column_name) FROM information_schema.statistics WHERE table_schema = ?
           UNION ALL SELECT CONCAT_WS(' ', trigger_name, event_object_table, action_timing, event_manipulation) FROM information_schema.triggers WHERE trigger_schema = ?
           UNION ALL SELECT CONCAT_WS(' ', table_name, engine, table_collation) FROM information_schema.tables WHERE table_schema = ?
           ORDER BY 1`,
          [schema, schema, schema, schema],
        )
      ).map((r) => r.f);
    // The single server's test database is the one test/schema-drift.test.ts proves equal to schema.prisma.
    const singleConn = await createConnection(mysqlConnection(process.env.DATABASE_URL!));
    try {
      const expected = await facts(singleConn, mysqlConnection(process.env.DATABASE_URL!).database!);
      expect(await facts(check, DATABASE)).toEqual(expected);
    } finally {
      await singleConn.end();
    }
    const lacking = await check.query<{ table_name: string }[]>(
      `SELECT t.table_name FROM information_schema.tables t WHERE t.table_schema = ? AND (t.engine <> 'InnoDB' OR NOT EXISTS (
         SELECT 1 FROM information_schema.table_constraints k WHERE k.table_schema = t.table_schema AND k.table_name = t.table_name
           AND k.constraint_type = 'PRIMARY KEY'))`,
      [DATABASE],
    );
    expect(lacking).toEqual([]);
  });

  it('When the same CreateOrder reaches every node at once, then there is one order and every caller gets it', async () => {
    const tenant = await newTenant(a, 'g-create');
    for (let round = 0; round < 3; round++) {
      const req = orderRequest(tenant, { amount: 1500n, notifyTopic: TOPIC });
      const results = await Promise.allSettled(instances().flatMap((h) => [...Array(4)].map(() => h.call('createOrder', req))));
      expect(results.map(codeOf)).toEqual(results.map(() => status.OK));
      const payNos = new Set(results.map((r) => (r as PromiseFulfilledResult<{ order?: PayOrder }>).value.order!.payNo));
      expect(payNos.size).toBe(1);
      const [row] = await check.query<{ n: bigint }[]>('SELECT COUNT(*) AS n FROM pay_order WHERE tenant_id = ? AND out_order_no = ?', [
        tenant,
        req.outOrderNo,
      ]);
      expect(row.n).toBe(1n);
    }
  });

  it('When Prepays of one order reach every node at once, then one claim commits, with one attempt and one audit row, and every caller that is answered gets that attempt', async () => {
    // The claim is one stored-procedure CALL (src/repo/claim.ts); its COMMIT is certified against the other nodes'
    // claims, and a loser's certification failure (1213) must leave nothing of it and be tried again.
    const tenant = await newTenant(a, 'g-claim');
    for (let round = 0; round < 3; round++) {
      const { order } = await a.call('createOrder', orderRequest(tenant, { amount: 900n, notifyTopic: TOPIC }));
      const req = { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' };
      const results = await Promise.allSettled(instances().flatMap((h) => [h.call('prepay', req), h.call('prepay', req)]));
      // ABORTED is the documented answer when concurrent Prepays keep changing the order; nothing else is.
      expect(results.map(codeOf).filter((c) => c !== status.OK && c !== status.ABORTED)).toEqual([]);
      const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.attemptNo] : []));
      expect(answered.length).toBeGreaterThan(0);
      const attempts = await check.query<{ attempt_no: string }[]>('SELECT attempt_no FROM pay_attempt WHERE pay_no = ?', [order!.payNo]);
      expect(attempts.map((r) => r.attempt_no)).toEqual([answered[0]]);
      expect(new Set(answered)).toEqual(new Set([answered[0]]));
      const trail = await check.query<{ to_status: string }[]>('SELECT to_status FROM order_transition WHERE pay_no = ?', [order!.payNo]);
      expect(trail.map((t) => t.to_status)).toEqual(['PAYING']);
    }
  });

  it('When different orders of one tenant are created on every node at once, then each call succeeds and the statistics count each once', async () => {
    const tenant = await newTenant(a, 'g-many');
    const results = await Promise.allSettled(
      instances().flatMap((h) =>
        [...Array(8)].map(() => h.call('createOrder', orderRequest(tenant, { amount: 100n, notifyTopic: TOPIC }))),
      ),
    );
    expect(results.map(codeOf)).toEqual(results.map(() => status.OK));
    // The triggers append statistics deltas (no shared row, so no conflict); every node folds them at once: SKIP
    // LOCKED is local to a node, so two folds may claim the same deltas, and certification lets one of them win.
    await Promise.all(instances().map((h) => foldAllStatsDeltas(h.service.deps.db, tenant)));
    const folded = await eventually(async () => {
      const [stats] = await check.query<{ n: bigint | null; amount: bigint | null; pending: bigint }[]>(
        `SELECT SUM(order_count) AS n, SUM(order_amount) AS amount,
                (SELECT COUNT(*) FROM order_stats_delta WHERE tenant_id = ?) AS pending
           FROM order_stats_quarter WHERE tenant_id = ?`,
        [tenant, tenant],
      );
      return stats.pending === 0n && stats;
    });
    expect({ n: Number(folded.n), amount: Number(folded.amount) }).toEqual({ n: 24, amount: 2400 });
  });

  it('When an order is created on one node, then the next call on another node finds it (read your writes across nodes)', async () => {
    const tenant = await newTenant(a, 'g-ryw');
    for (let i = 0; i < 10; i++) {
      const { order } = await a.call('createOrder', orderRequest(tenant, { amount: 100n, notifyTopic: TOPIC }));
      const pre = await b.call('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      const { order: seen } = await c.call('query', { order: ref(order!), sync: false });
      expect(seen!.attempts.map((t) => t.attemptNo)).toContain(pre.attemptNo);
    }
  });

  it('When refunds over the paid amount race on every node, then exactly as many as fit succeed and refunded never passes paid', async () => {
    const tenant = await newTenant(a, 'g-refund');
    const order = await paid(a, tenant, 1000n);
    const results = await Promise.allSettled(
      instances().flatMap((h) =>
        [...Array(4)].map(() => h.call('refund', { order: ref(order), outRefundNo: uniq('RF'), amount: 300n, reason: '' })),
      ),
    );
    const codes = results.map(codeOf);
    expect(codes.filter((x) => x === status.OK)).toHaveLength(3); // 3 × 300 ≤ 1000 < 4 × 300
    expect(codes.filter((x) => x !== status.OK).every((x) => x === status.FAILED_PRECONDITION)).toBe(true);
    const [row] = await check.query<{ refunded_amount: bigint; refund_pending_amount: bigint; status: string }[]>(
      'SELECT refunded_amount, refund_pending_amount, status FROM pay_order WHERE pay_no = ?',
      [order.payNo],
    );
    expect(row).toEqual({ refunded_amount: 900n, refund_pending_amount: 0n, status: 'PARTIAL_REFUNDED' });
    expect(a.gateway.refundedTotal(order.attempts[0].attemptNo)).toBe(900n);
    expect(await brokenChains([order.payNo])).toEqual([]);
  });

  it('When refunds of a duplicate payment race on every node, then no more than it paid goes back', async () => {
    for (const h of instances()) h.service.deps.duplicatePayment = 'hold';
    try {
      const tenant = await newTenant(a, 'g-dup');
      // The buyer pays both attempts of a switched order (as duplicate-payment.test.ts does): the first is the duplicate.
      const { order } = await a.call('createOrder', orderRequest(tenant, { amount: 1000n, notifyTopic: TOPIC }));
      const prepay = (way: PayWay) => a.call('prepay', { order: ref(order!), payWay: way, clientIp: '', payerId: '' });
      const first = (await prepay(PayWay.PAY_WAY_MOCK)).attemptNo;
      const second = (await prepay(PayWay.PAY_WAY_MOCK_QR)).attemptNo;
      a.gateway.pay(second);
      await eventually(
        async () => (await a.call('query', { order: ref(order!), sync: false })).order!.status === OrderStatus.ORDER_STATUS_SUCCESS,
      );
      a.gateway.inject({ kind: 'successAfterClose' }, 1);
      a.gateway.pay(first);
      await eventually(async () => {
        const [row] = await check.query<{ n: bigint }[]>(
          "SELECT COUNT(*) AS n FROM pay_attempt WHERE attempt_no = ? AND status = 'SUCCESS'",
          [first],
        );
        return row.n === 1n;
      });
      const results = await Promise.allSettled(
        instances().flatMap((h) =>
          [...Array(4)].map(() =>
            h.call('refund', { order: ref(order!), outRefundNo: uniq('RD'), amount: 300n, reason: 'paid twice', attemptNo: first }),
          ),
        ),
      );
      const codes = results.map(codeOf);
      expect(codes.filter((x) => x === status.OK)).toHaveLength(3); // 3 × 300 ≤ 1000 < 4 × 300
      expect(codes.filter((x) => x !== status.OK).every((x) => x === status.FAILED_PRECONDITION)).toBe(true);
      const [taken] = await check.query<{ total: bigint }[]>(
        "SELECT CAST(SUM(amount) AS SIGNED) AS total FROM refund WHERE attempt_no = ? AND duplicate AND status IN ('PENDING', 'SUCCESS')",
        [first],
      );
      expect(taken.total).toBe(900n);
      expect(a.gateway.refundedTotal(first)).toBe(900n);
      expect(a.gateway.refundedTotal(second)).toBe(0n);
    } finally {
      for (const h of instances()) h.service.deps.duplicatePayment = 'refund';
    }
  });

  it('When one notify reaches every node several times at once, then the order changes once and every copy is acknowledged', async () => {
    const tenant = await newTenant(a, 'g-notify');
    const { order } = await a.call('createOrder', orderRequest(tenant, { amount: 2500n, notifyTopic: TOPIC }));
    const pre = await a.call('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
    const body = mockPaymentNotify(a, pre.attemptNo);
    const post = (h: Harness) => postMockNotify(h, tenant, body).then((r) => r.status);
    const statuses = await Promise.all(instances().flatMap((h) => [post(h), post(h), post(h)]));
    expect(statuses).toEqual(statuses.map(() => 200));
    const transitions = await check.query<{ to_status: string }[]>('SELECT to_status FROM order_transition WHERE pay_no = ? ORDER BY id', [
      order!.payNo,
    ]);
    expect(transitions.map((t) => t.to_status).filter((s) => s === 'SUCCESS')).toHaveLength(1);
    const events = await check.query<{ n: bigint }[]>(
      `SELECT COUNT(*) AS n FROM outbox_event WHERE pay_no = ? AND JSON_VALUE(payload, '$.type') = 'PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED'`,
      [order!.payNo],
    );
    expect(events[0].n).toBe(1n);
  });

  it('When Cancel on one node races the payment arriving on another, then each order ends in one consistent state', async () => {
    const tenant = await newTenant(a, 'g-cancel');
    const orders: PayOrder[] = [];
    for (let i = 0; i < 6; i++) {
      const { order } = await a.call('createOrder', orderRequest(tenant, { amount: 700n, notifyTopic: TOPIC }));
      const pre = await a.call('prepay', { order: ref(order!), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      orders.push({ ...order!, attempts: [{ ...order!.attempts[0], attemptNo: pre.attemptNo }] });
    }
    await Promise.allSettled(
      orders.flatMap((o, i) => [
        instances()[i % 3].call('cancel', { order: ref(o), reason: 'race' }),
        Promise.resolve().then(() => a.gateway.pay(o.attempts[0].attemptNo)),
      ]),
    );
    const settled = await eventually(async () => {
      const rows = await check.query<{ pay_no: string; status: string }[]>('SELECT pay_no, status FROM pay_order WHERE tenant_id = ?', [
        tenant,
      ]);
      return rows.every((r) => r.status !== 'PAYING') && rows;
    }, 30_000);
    for (const r of settled) expect(['CLOSED', 'SUCCESS', 'PAID_AFTER_CLOSE']).toContain(r.status);
    expect(await brokenChains(orders.map((o) => o.payNo))).toEqual([]);
  });

  it('When every instance runs the outbox relay, then every event reaches the order side, each delivery counted once', async () => {
    // Everything committed so far: its events must all be delivered.
    const events = await eventually(async () => {
      const rows = await check.query<{ id: string; status: string }[]>(`SELECT id, status FROM outbox_event WHERE topic = ?`, [TOPIC]);
      return rows.length > 0 && rows.every((r) => r.status === 'DELIVERED') && rows;
    }, 30_000);
    await eventually(async () => events.every((e) => orderSide.seen.has(e.id)), 30_000);
    const deliveries = await check.query<{ event_id: string; n: bigint }[]>(
      `SELECT d.event_id, COUNT(*) AS n FROM event_delivery d JOIN outbox_event e ON e.id = d.event_id
        WHERE e.topic = ? AND d.target LIKE 'queue:%' AND d.ok GROUP BY d.event_id`,
      [TOPIC],
    );
    expect(deliveries.filter((d) => d.n !== 1n)).toEqual([]);
    expect(deliveries).toHaveLength(events.length);
    // The order side applied each event once, whatever reached it twice.
    const applied = verdicts.filter((v) => v.verdict !== 'duplicate').map((v) => v.event.eventId);
    expect(new Set(applied).size).toBe(applied.length);
  });

  it('When the node under an instance is killed mid-load, then the instance carries on through a surviving node and no acknowledged order is lost', async () => {
    // HAProxy's part (one active server, the others backup): the instance knows one address.
    const proxy = await FailoverProxy.start([cluster.node(3), cluster.node(1)]);
    const url = new URL(cluster.urls[2]);
    url.host = `127.0.0.1:${proxy.port}`;
    const d = await startHarness(
      { ...instanceEnv(url.toString()), WORKERS_ENABLED: 'false' },
      { gateway: a.gateway, gatewayUrl: a.gatewayUrl },
    );
    try {
      const tenant = await newTenant(d, 'g-failover');
      const acknowledged: string[] = [];
      const refused: number[] = [];
      let killing: Promise<void> | undefined;
      // Three callers, each creating orders one after another; a failed call is sent again with the same request
      // (CreateOrder is idempotent on out_order_no), as a caller's retry policy does.
      const caller = async () => {
        for (let i = 0; i < 12; i++) {
          const req = orderRequest(tenant, { amount: 100n, notifyTopic: TOPIC });
          for (;;) {
            try {
              const { order } = await d.call('createOrder', req, 15_000);
              acknowledged.push(order!.payNo);
              break;
            } catch (err) {
              const code = (err as ServiceError).code;
              if (code !== status.UNAVAILABLE) throw err;
              refused.push(code);
              await new Promise((r) => setTimeout(r, 100));
            }
          }
          if (acknowledged.length >= 9) killing ??= cluster.kill(3);
        }
      };
      await Promise.all([caller(), caller(), caller()]);
      await killing;
      expect(proxy.opened[1]).toBeGreaterThan(0); // it reached node 1 once node 3 was gone
      expect(new Set(acknowledged).size).toBe(36);
      const rows = await check.query<{ pay_no: string }[]>('SELECT pay_no FROM pay_order WHERE tenant_id = ?', [tenant]);
      expect(rows.map((r) => r.pay_no).sort()).toEqual([...acknowledged].sort());
    } finally {
      await d.close();
      await proxy.close();
    }
  });
});
