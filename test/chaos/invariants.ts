import { createConnection, type Connection } from 'mariadb';
import { PaymentError, PayWay, type PaymentClient } from '../../src/client';
import { mysqlConnection } from '../../src/infra/mysql-url';
import { TENANT } from './channels';
import type { Channels } from './channels';
import type { OrderSide } from './consumer';
import type { NotifyTally } from './notify-proxy';

export interface Check {
  name: string;
  /** What was looked at (payments, orders, events…). */
  checked: number;
  /** How many broke it: 0 to pass. */
  broken: number;
  samples: string[];
}

/** The expiry of the orders the load leaves to time out (load.ts): the run waits until each has closed. */
export const EXPIRING_SECONDS = 60;

/** Events written with a status change (transition()); the other types amend an order without one. */
const TRANSITION_EVENTS = [
  'PAYMENT_SUCCEEDED',
  'PAYMENT_REFUNDED_AT_CHANNEL',
  'PAYMENT_FAILED',
  'PAYMENT_RETRIED',
  'ORDER_CLOSED',
  'PAID_AFTER_CLOSE',
  'REFUND_SUCCEEDED',
];
const IN_TRANSITION_EVENTS = TRANSITION_EVENTS.map((t) => `'${t}'`).join(',');

export async function connect(databaseUrl: string): Promise<Connection> {
  return createConnection({ ...mysqlConnection(databaseUrl), bigIntAsNumber: false, insertIdAsNumber: true });
}

/** What must be settled before the books are checked: the quiesce loop waits until all of these are 0. */
export async function unsettled(conn: Connection, channels: Channels, consumer: OrderSide): Promise<Record<string, number>> {
  const [row] = await conn.query<Record<string, bigint | number | null>[]>(`
    SELECT
      (SELECT COUNT(*) FROM outbox_event WHERE status IN ('PENDING','QUEUED')) AS undeliveredEvents,
      (SELECT COUNT(*) FROM refund WHERE status = 'PENDING') AS pendingRefunds,
      (SELECT COUNT(*) FROM pay_order WHERE status IN ('WAIT_PAY','PAYING') AND expire_at < NOW(3)) AS expiredOpen,
      (SELECT COUNT(*) FROM pay_order WHERE status IN ('WAIT_PAY','PAYING') AND expire_seconds = ${EXPIRING_SECONDS}) AS leftToExpire,
      (SELECT COUNT(*) FROM pay_order WHERE status = 'PAID_AFTER_CLOSE') AS paidAfterCloseUnrefunded`);
  const delivered = await conn.query<{ id: string }[]>(`SELECT id FROM outbox_event WHERE status = 'DELIVERED'`);
  const counts = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  return {
    ...counts,
    notifiesPending: channels.notifiesPending(),
    eventsNotConsumed: delivered.filter((e) => !consumer.deliveries.has(e.id)).length,
  };
}

interface AttemptRow {
  attempt_no: string;
  channel: string;
  a_status: string;
  a_trade_no: string | null;
  pay_no: string;
  o_status: string;
  o_trade_no: string | null;
  amount: bigint;
}

/**
 * A Prepay that failed UNAVAILABLE (the channel answered 5xx or hung through the client's tries, or the instance
 * died under it) leaves its order PAYING with the attempt unsent (CREATED): by design (src/app/prepay.ts) the
 * order is payable again by a retry of that Prepay, which opens the same attempt. The run retries each such
 * Prepay once, as the order service would, so that the check below holds every PAYING order to a payable attempt.
 */
export async function retryUnsentPrepays(conn: Connection, client: PaymentClient): Promise<{ retried: number; failed: string[] }> {
  const unsent = await conn.query<{ pay_no: string; pay_way: string; payer_id: string }[]>(`
    SELECT o.pay_no, a.pay_way, a.payer_id
    FROM pay_order o JOIN pay_attempt a ON a.attempt_no = o.current_attempt_no
    WHERE o.status = 'PAYING' AND o.expire_at > NOW(3) AND a.status = 'CREATED'`);
  const failed: string[] = [];
  for (const u of unsent) {
    const payWay = PayWay[`PAY_WAY_${u.pay_way}` as keyof typeof PayWay];
    await client
      .prepay(
        { order: { tenantId: TENANT, payNo: u.pay_no }, payWay, clientIp: '203.0.113.7', payerId: u.payer_id },
        { deadlineMs: 20_000 },
      )
      .catch((err: unknown) => failed.push(`${u.pay_no} ${u.pay_way}: ${err instanceof Error ? err.message : String(err)}`));
  }
  return { retried: unsent.length, failed };
}

/**
 * A Cancel that failed UNAVAILABLE or ran out of time (MariaDB restarting under it) may have closed the trade at the
 * channel but not the order: PAYING with its attempt CLOSED until the Cancel is retried (or the order expires). The
 * order service retries a Cancel it did not see succeed; so does the run, before the checks.
 */
export async function retryFailedCancels(client: PaymentClient, payNos: Iterable<string>): Promise<{ retried: number; failed: string[] }> {
  const failed: string[] = [];
  let retried = 0;
  for (const payNo of payNos) {
    retried += 1;
    await client
      .cancel({ order: { tenantId: TENANT, payNo }, reason: 'chaos: retry of a failed cancel' }, { deadlineMs: 20_000 })
      .catch((err: unknown) => {
        // Paid meanwhile (the buyer won the race): nothing to cancel.
        if (!(err instanceof PaymentError && err.reason === 'ORDER_ALREADY_PAID'))
          failed.push(`${payNo}: ${err instanceof Error ? err.message : String(err)}`);
      });
  }
  return { retried, failed };
}

/** What the sandbox of `channel` holds of trade `attemptNo`: paid, its trade no and what it refunded. */
function atChannel(channels: Channels, channel: string, attemptNo: string): { paid: boolean; refunded: bigint } {
  switch (channel) {
    case 'mock':
      return { paid: !!channels.mock.trade(attemptNo)?.paid_at, refunded: channels.mock.refundedTotal(attemptNo) };
    case 'alipay':
      return { paid: !!channels.alipay.trade(attemptNo)?.paidAt, refunded: channels.alipay.refundedTotal(attemptNo) };
    case 'wechat':
      return { paid: !!channels.wechat.trade(attemptNo)?.success_time, refunded: channels.wechat.refundedTotal(attemptNo) };
    default:
      throw new Error(`unknown channel ${channel}`);
  }
}

/** Every invariant of issue 16, each with what it checked and how many broke it. */
export async function checkInvariants(conn: Connection, channels: Channels, consumer: OrderSide, notifies: NotifyTally): Promise<Check[]> {
  const checks: Check[] = [];
  const check = (name: string, checked: number, bad: string[]) =>
    checks.push({ name, checked, broken: bad.length, samples: bad.slice(0, 3) });

  // 1. Zero lost payments: each trade a sandbox holds as paid is a payment here, its order's or one refunded.
  const attempts = await conn.query<AttemptRow[]>(`
    SELECT a.attempt_no, a.channel, a.status AS a_status, a.channel_trade_no AS a_trade_no, a.pay_no,
           o.status AS o_status, o.channel_trade_no AS o_trade_no, o.amount
    FROM pay_attempt a JOIN pay_order o ON o.pay_no = a.pay_no`);
  const refunds = await conn.query<
    { attempt_no: string; pay_no: string; amount: bigint; status: string; duplicate: number; requested_by: string }[]
  >(`SELECT attempt_no, pay_no, amount, status, duplicate, requested_by FROM refund`);
  const refundedAttempt = new Map<string, bigint>();
  for (const r of refunds)
    if (r.status === 'SUCCESS') refundedAttempt.set(r.attempt_no, (refundedAttempt.get(r.attempt_no) ?? 0n) + r.amount);
  const lost: string[] = [];
  const phantom: string[] = [];
  const channelRefundMismatch: string[] = [];
  const channelOverRefund: string[] = [];
  let paidAtChannel = 0;
  for (const a of attempts) {
    const held = atChannel(channels, a.channel, a.attempt_no);
    if (held.paid) {
      paidAtChannel += 1;
      const ordersPayment = ['SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED'].includes(a.o_status) && a.o_trade_no === a.a_trade_no;
      const refundedBack = (refundedAttempt.get(a.attempt_no) ?? 0n) === a.amount; // a duplicate or one paid after close
      if (a.a_status !== 'SUCCESS' || !(ordersPayment || refundedBack)) {
        lost.push(`${a.channel} ${a.attempt_no} (order ${a.pay_no} ${a.o_status}, attempt ${a.a_status})`);
      }
    } else if (a.a_status === 'SUCCESS') phantom.push(`${a.channel} ${a.attempt_no} is SUCCESS here, unpaid at the channel`);
    const ours = refundedAttempt.get(a.attempt_no) ?? 0n;
    if (held.refunded !== ours) channelRefundMismatch.push(`${a.attempt_no}: channel refunded ${held.refunded}, here ${ours}`);
    if (held.refunded > a.amount) channelOverRefund.push(`${a.attempt_no}: channel refunded ${held.refunded} of ${a.amount}`);
  }
  check('every payment a sandbox holds is paid (or refunded back) here: lost', paidAtChannel, lost);
  check('no attempt is paid here that its channel does not hold as paid', attempts.length, phantom);

  // 2. Refunds: never more than paid, here or at the channel; totals are the sum of successful refunds.
  const orders = await conn.query<
    { pay_no: string; amount: bigint; refunded_amount: bigint; refund_pending_amount: bigint; succeeded: bigint | null }[]
  >(`
    SELECT o.pay_no, o.amount, o.refunded_amount, o.refund_pending_amount,
           (SELECT SUM(r.amount) FROM refund r WHERE r.pay_no = o.pay_no AND r.status = 'SUCCESS' AND r.duplicate = 0) AS succeeded
    FROM pay_order o`);
  check(
    "no order's refunded amount exceeds its paid amount",
    orders.length,
    orders.filter((o) => o.refunded_amount > o.amount).map((o) => `${o.pay_no}: ${o.refunded_amount} of ${o.amount}`),
  );
  check(
    'refunded_amount = sum of successful refunds, nothing left reserved',
    orders.length,
    orders
      .filter((o) => o.refunded_amount !== BigInt(o.succeeded ?? 0n) || o.refund_pending_amount !== 0n)
      .map((o) => `${o.pay_no}: refunded ${o.refunded_amount}, refunds ${o.succeeded ?? 0}, pending ${o.refund_pending_amount}`),
  );
  check('no trade refunded at its channel beyond its amount', attempts.length, channelOverRefund);
  check('each trade: refunded at the channel = successful refunds here', attempts.length, channelRefundMismatch);
  check(
    'no refund left PENDING',
    refunds.length,
    refunds.filter((r) => r.status === 'PENDING').map((r) => `${r.pay_no} ${r.amount}`),
  );

  // 3. Events: one per status change, each delivered, each applied once by the order side.
  const perOrder = await conn.query<{ pay_no: string; changes: bigint; events: bigint }[]>(`
    SELECT o.pay_no,
      (SELECT COUNT(*) FROM order_transition t WHERE t.pay_no = o.pay_no AND NOT (t.to_status = 'PAYING' AND t.from_status <> 'FAILED')) AS changes,
      (SELECT COUNT(*) FROM outbox_event e WHERE e.pay_no = o.pay_no AND e.type IN (${IN_TRANSITION_EVENTS})) AS events
    FROM pay_order o`);
  const transitions = perOrder.reduce((sum, o) => sum + Number(o.changes), 0);
  check(
    'every status change has exactly one outbox event',
    transitions,
    perOrder.filter((o) => o.changes !== o.events).map((o) => `${o.pay_no}: ${o.changes} changes, ${o.events} events`),
  );
  const sameVersion = await conn.query<{ pay_no: string; order_version: bigint; n: bigint }[]>(
    `SELECT pay_no, order_version, COUNT(*) AS n FROM outbox_event GROUP BY pay_no, order_version HAVING n > 1`,
  );
  const events = await conn.query<{ id: string; status: string; type: string }[]>(`SELECT id, status, type FROM outbox_event`);
  check(
    'no two events for one order version',
    events.length,
    sameVersion.map((r) => `${r.pay_no} v${r.order_version}: ${r.n}`),
  );
  check(
    'every event DELIVERED (none pending, none dead)',
    events.length,
    events.filter((e) => e.status !== 'DELIVERED').map((e) => `${e.id} ${e.type} ${e.status}`),
  );
  check(
    'every event reached the order-side consumer',
    events.length,
    events.filter((e) => !consumer.deliveries.has(e.id)).map((e) => `${e.id} ${e.type}`),
  );
  check(
    'the consumer applied each event id once',
    consumer.deliveries.size,
    [...consumer.applied].filter(([, n]) => n !== 1).map(([id, n]) => `${id}: applied ${n} times`),
  );

  // 4. Timeouts: nothing expired is still open; nothing open and unexpired is unpayable.
  const expiredOpen = await conn.query<{ pay_no: string; status: string; expire_at: Date }[]>(
    `SELECT pay_no, status, expire_at FROM pay_order WHERE status IN ('WAIT_PAY','PAYING') AND expire_at < NOW(3)`,
  );
  const [{ expired }] = await conn.query<{ expired: bigint }[]>(`SELECT COUNT(*) AS expired FROM pay_order WHERE expire_at < NOW(3)`);
  check(
    'no expired order still open',
    Number(expired),
    expiredOpen.map((o) => `${o.pay_no} ${o.status} due ${o.expire_at.toISOString()}`),
  );
  const unpayable = await conn.query<{ pay_no: string; attempts: string }[]>(`
    SELECT o.pay_no, GROUP_CONCAT(CONCAT(a.pay_way, ' ', a.status) ORDER BY a.id SEPARATOR ', ') AS attempts
    FROM pay_order o LEFT JOIN pay_attempt a ON a.pay_no = o.pay_no
    WHERE o.status = 'PAYING' AND o.expire_at > NOW(3)
    GROUP BY o.pay_no HAVING SUM(a.status = 'OPEN') = 0 OR SUM(a.status = 'OPEN') IS NULL`);
  const [{ paying }] = await conn.query<{ paying: bigint }[]>(
    `SELECT COUNT(*) AS paying FROM pay_order WHERE status = 'PAYING' AND expire_at > NOW(3)`,
  );
  check(
    'no unexpired PAYING order without a payable (OPEN) attempt',
    Number(paying),
    unpayable.map((o) => `${o.pay_no}: attempts ${o.attempts ?? 'none'}`),
  );
  const [{ pac }] = await conn.query<{ pac: bigint }[]>(`SELECT COUNT(*) AS pac FROM pay_order WHERE status = 'PAID_AFTER_CLOSE'`);
  check('no PAID_AFTER_CLOSE order left unrefunded', Number(pac), Number(pac) > 0 ? [`${pac} orders`] : []);

  // 5. Notifies: every answer in the channel's dialect (ack, or the refusal that makes it retry), none left to retry.
  const answered = Object.values(notifies.answers).reduce((sum, a) => sum + a.ack + a.retry + a.foreign, 0);
  const foreign = Object.values(notifies.answers).reduce((sum, a) => sum + a.foreign, 0);
  check(
    "every notify answered in its channel's dialect",
    answered,
    foreign > 0 ? [`${foreign} foreign answers: ${notifies.foreignSamples.join(' | ')}`] : [],
  );
  const pending = channels.notifiesPending();
  check('no notify left unacknowledged at a sandbox', answered, pending > 0 ? [`${pending} still being retried`] : []);
  return checks;
}
