import { orderRef, PaymentClient, PayWay, RefundStatus, type OrderRefInput, type PayOrder, type Refund } from '../../src/client';
import { PaymentEventType } from '../../src/gen/payment/v1/events';
import type { PrepayResponse } from '../../src/gen/payment/v1/payment_service';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import { buyerPays } from './buyer';
import type { EventInbox } from './event-inbox';
import {
  DemoError,
  deliveryName,
  eventTypeName,
  notifyResultName,
  payWayName,
  poll,
  refundStatusName,
  statusName,
  within,
  yuan,
} from './steps';

/** One order's way through the demo: a channel, a pay way, an amount and the part of it refunded. */
export interface DemoChannel {
  label: string;
  /** The notify route's channel name ("mock", "alipay", "wechat"). */
  channel: string;
  payWay: PayWay;
  subject: string;
  amount: bigint;
  refund: bigint;
}

export interface WalkContext {
  client: PaymentClient;
  inbox: EventInbox;
  tenantId: string;
  runId: string;
  topic: string;
  timeoutMs: number;
  hints: { grpc: string; events: string };
  print: (line: string) => void;
}

export interface WalkedOrder {
  label: string;
  payNo: string;
  status: OrderStatus;
  amount: bigint;
  refundedAmount: bigint;
  eventsDelivered: number;
}

/**
 * CreateOrder → Prepay → the sandbox buyer pays → the notify makes the order SUCCESS (watched) → PAYMENT_SUCCEEDED
 * reaches the order side → a partial refund settles → REFUND_SUCCEEDED reaches the order side → ListEvents.
 */
export async function walkOrder(ctx: WalkContext, ch: DemoChannel): Promise<WalkedOrder> {
  const { client, timeoutMs, hints } = ctx;
  const say = (step: string, text: string) => ctx.print(`[${ch.label.padEnd(6)}] ${step.padEnd(11)} ${text}`);
  const outOrderNo = `demo-${ctx.runId}-${ch.label}`;

  const created = await within(timeoutMs, `CreateOrder ${outOrderNo}`, hints.grpc, (signal) =>
    client.createOrder(
      {
        tenantId: ctx.tenantId,
        outOrderNo,
        amount: ch.amount,
        currency: 'CNY',
        subject: ch.subject,
        notifyTopic: ctx.topic,
        userId: 'demo-buyer',
      },
      { signal },
    ),
  );
  const order = created.order!;
  const ref = orderRef(order);
  say('CreateOrder', `${outOrderNo} ${yuan(order.amount)} "${order.subject}" → ${order.payNo} ${statusName(order.status)}`);

  const watch = watchUntilPaid(client, ref, (o) => say('watch', describe(o)));
  try {
    await within(timeoutMs, `WatchOrder ${order.payNo}`, hints.grpc, () => watch.first);
    const pre = await within(timeoutMs, `Prepay ${payWayName(ch.payWay)}`, hints.grpc, (signal) =>
      client.prepay({ order: ref, payWay: ch.payWay, clientIp: '127.0.0.1' }, { signal }),
    );
    const payUrl = payUrlOf(pre);
    say('Prepay', `${payWayName(ch.payWay)} → attempt ${pre.attemptNo}, pay at ${payUrl}`);

    const posted = await within(
      timeoutMs,
      `the sandbox buyer paying at ${payUrl}`,
      `is the ${ch.label} sandbox up? is \`npm run dev\` running?`,
      (signal) => buyerPays(payUrl, signal),
    );
    say('buyer pays', `opened the cashier, pressed Pay (POST ${posted})`);

    await within(
      timeoutMs,
      `order ${order.payNo} reaching SUCCESS`,
      `the ${ch.label} sandbox posts its payment notify to the service's sidecar (NOTIFY_BASE_URL; :8080 under \`npm run dev\`): ` +
        'is it reachable from the sandbox? the service log names a rejected notify; Query with sync=true asks the channel',
      () => watch.done,
    );
  } finally {
    watch.stop();
  }

  const notify = await within(timeoutMs, `the ${ch.channel} payment notify in ListNotifies`, hints.grpc, (signal) =>
    poll(signal, async () => (await client.listNotifies({ order: ref }, { signal })).notifies.find((n) => n.kind === 'payment')),
  );
  say(
    'notify',
    `${notify.channel} payment notify at the sidecar: signature ${notify.signatureValid ? 'valid' : 'INVALID'}, ${notifyResultName(notify.result)}`,
  );

  const paid = await within(timeoutMs, `PAYMENT_SUCCEEDED of ${order.payNo} at the order side`, hints.events, (signal) =>
    ctx.inbox.next(order.payNo, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED, signal),
  );
  say(
    'event',
    `${eventTypeName(paid.event.type)} v${paid.event.version} ${statusName(paid.event.status)} ${yuan(paid.event.amount)} → order side: ${paid.verdict}`,
  );

  const refund = await refundPart(ctx, ch, ref, say);

  const refunded = await within(timeoutMs, `REFUND_SUCCEEDED of ${order.payNo} at the order side`, hints.events, (signal) =>
    ctx.inbox.next(order.payNo, PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED, signal),
  );
  const e = refunded.event;
  say(
    'event',
    `${eventTypeName(e.type)} v${e.version} ${statusName(e.status)} ${yuan(e.refundAmount)} (${e.outRefundNo}), refunded ${yuan(e.refundedAmount)} → order side: ${refunded.verdict}`,
  );

  const expected = [PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED, PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED];
  const events = await within(timeoutMs, `ListEvents of ${order.payNo} showing every event DELIVERED`, hints.events, (signal) =>
    poll(signal, async () => {
      const { events: all } = await client.listEvents({ order: ref }, { signal });
      const done = expected.every((t) => all.some((r) => r.event?.type === t)) && all.every((r) => r.deliveredTime !== undefined);
      return done ? all : undefined;
    }),
  );
  const delivered = events.map((r) => `${eventTypeName(r.event!.type)} ${deliveryName(r.deliveryStatus)} (${tries(r.attempts)})`);
  say('ListEvents', `${delivered.join(', ')} → queue ${[...new Set(events.map((r) => r.topic))].join(', ')}`);

  const final = (await within(timeoutMs, `Query ${order.payNo}`, hints.grpc, (signal) => client.query({ order: ref }, { signal }))).order!;
  if (final.refundedAmount !== refund.amount) {
    throw new DemoError(
      `order ${order.payNo} shows ${yuan(final.refundedAmount)} refunded, not ${yuan(refund.amount)}`,
      'see the service log',
    );
  }
  return {
    label: ch.label,
    payNo: order.payNo,
    status: final.status,
    amount: final.amount,
    refundedAmount: final.refundedAmount,
    eventsDelivered: events.length,
  };
}

/** Refunds part of the order, then sees the refund settled: by the channel's answer or notify, else QueryRefund sync. */
async function refundPart(
  ctx: WalkContext,
  ch: DemoChannel,
  ref: OrderRefInput,
  say: (step: string, text: string) => void,
): Promise<Refund> {
  const { client, timeoutMs, hints } = ctx;
  const outRefundNo = `demo-${ctx.runId}-${ch.label}-r1`;
  const answer = await within(timeoutMs, `Refund ${outRefundNo}`, hints.grpc, (signal) =>
    client.refund({ order: ref, outRefundNo, amount: ch.refund, reason: 'demo: one item returned' }, { signal }),
  );
  let refund = answer.refund!;
  say(
    'Refund',
    `${yuan(refund.amount)} of ${yuan(answer.order!.amount)} as ${outRefundNo} (${refund.refundNo}) → ${refundStatusName(refund.status)}; order ${describe(answer.order!)}`,
  );

  let settledBy = "the channel's answer";
  if (refund.status === RefundStatus.REFUND_STATUS_PENDING) {
    settledBy = 'its refund notify';
    refund = await within(timeoutMs, `refund ${outRefundNo} settling`, hints.grpc, (signal) =>
      poll(signal, async () => {
        const { refund: r } = await client.queryRefund({ tenantId: ctx.tenantId, outRefundNo }, { signal });
        return r && r.status !== RefundStatus.REFUND_STATUS_PENDING ? r : undefined;
      }),
    ).catch(async () => {
      settledBy = 'QueryRefund sync (no notify in time)';
      const synced = await within(timeoutMs, `QueryRefund sync ${outRefundNo}`, hints.grpc, (signal) =>
        client.queryRefund({ tenantId: ctx.tenantId, outRefundNo, sync: true }, { signal }),
      );
      return synced.refund!;
    });
  }
  if (refund.status !== RefundStatus.REFUND_STATUS_SUCCESS) {
    throw new DemoError(
      `refund ${outRefundNo} ended ${refundStatusName(refund.status)}: ${refund.failureReason}`,
      `the ${ch.label} sandbox refused it; see the service log`,
    );
  }
  const notify = await within(
    timeoutMs,
    `the ${ch.channel} refund notify in ListNotifies`,
    `the ${ch.label} sandbox posts a refund notify to the sidecar: is it reachable from the sandbox?`,
    (signal) => poll(signal, async () => (await client.listNotifies({ order: ref }, { signal })).notifies.find((n) => n.kind === 'refund')),
  );
  const channelNo = refund.channelRefundNo ? ` (channel refund ${refund.channelRefundNo})` : '';
  say(
    'settled',
    `refund ${refundStatusName(refund.status)}, settled by ${settledBy}${channelNo}; ${notify.channel} refund notify: ${notifyResultName(notify.result)}`,
  );
  return refund;
}

/** Watches the order from its first state until the stream ends (the order can no longer be paid). */
function watchUntilPaid(client: PaymentClient, ref: OrderRefInput, onOrder: (o: PayOrder) => void) {
  const abort = new AbortController();
  let seen: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (seen = resolve));
  const done = (async () => {
    let last: PayOrder | undefined;
    for await (const o of client.watchOrder(ref, { signal: abort.signal })) {
      onOrder(o);
      seen();
      last = o;
    }
    if (last?.status !== OrderStatus.ORDER_STATUS_SUCCESS) {
      throw new Error(`the watch ended with the order ${last ? statusName(last.status) : 'unseen'}`);
    }
    return last;
  })();
  done.catch(() => undefined); // awaited by the caller; a stop() before then must not be unhandled
  return { first: Promise.race([first, done.then(() => undefined)]), done, stop: () => abort.abort() };
}

function payUrlOf(pre: PrepayResponse): string {
  const p = pre.payload;
  if (p?.$case === 'mockPayUrl' || p?.$case === 'qrCodeUrl' || p?.$case === 'redirectUrl') return p.value;
  throw new DemoError(`Prepay handed out ${p?.$case ?? 'nothing'}, not a URL the sandbox buyer can open`, 'pick a QR or page pay way');
}

function describe(o: PayOrder): string {
  const parts = [`${statusName(o.status)} v${o.version}`];
  if (o.status === OrderStatus.ORDER_STATUS_SUCCESS) parts.push(`paid ${yuan(o.amount)}, channel trade ${o.channelTradeNo}`);
  if (o.refundedAmount > 0n || o.refundPendingAmount > 0n) parts.push(`refunded ${yuan(o.refundedAmount)}`);
  if (o.refundPendingAmount > 0n) parts.push(`pending ${yuan(o.refundPendingAmount)}`);
  return parts.join(', ');
}

const tries = (n: number) => (n === 1 ? '1 try' : `${n} tries`);
