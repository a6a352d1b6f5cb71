import { orderRef, PayWay, RefundStatus } from '../../src/client';
import { PaymentEventType } from '../../src/gen/payment/v1/events';
import { OrderStatus } from '../../src/gen/payment/v1/types';
import type { PrepayResponse } from '../../src/gen/payment/v1/payment_service';
import { buyerPays } from './buyer';
import { DemoError, eventTypeName, payWayName, poll, refundStatusName, statusName, within, yuan } from './steps';
import type { WalkContext } from './walk-order';

export interface WalkedDuplicate {
  payNo: string;
  amount: bigint;
  /** The duplicate's automatic refund, as Query shows it. */
  refundStatus: RefundStatus;
  refundAmount: bigint;
}

/**
 * A buyer who pays twice gets the second payment back (issue 14 §1): the order is prepaid with MOCK, then switched
 * to MOCK_QR (the first attempt is closed at the channel), the buyer pays the second, and then the first after all
 * (the mock cashier is told to let a closed trade be paid, as a real buyer can when a close and a payment cross).
 * The service records DUPLICATE_PAYMENT, refunds the duplicate at its channel on its own (DUPLICATE_PAYMENT_POLICY
 * =refund) and the order side hears DUPLICATE_PAYMENT_REFUNDED; the order itself stays paid once.
 */
export async function walkDuplicate(ctx: WalkContext, mockSandboxUrl: string): Promise<WalkedDuplicate> {
  const { client, timeoutMs, hints } = ctx;
  const say = (step: string, text: string) => ctx.print(`[${'twice'.padEnd(6)}] ${step.padEnd(11)} ${text}`);
  const outOrderNo = `demo-${ctx.runId}-twice`;
  const amount = 1288n;

  const created = await within(timeoutMs, `CreateOrder ${outOrderNo}`, hints.grpc, (signal) =>
    client.createOrder(
      { tenantId: ctx.tenantId, outOrderNo, amount, currency: 'CNY', subject: 'Demo saucer', notifyTopic: ctx.topic, userId: 'demo-buyer' },
      { signal },
    ),
  );
  const order = created.order!;
  const ref = orderRef(order);
  say('CreateOrder', `${outOrderNo} ${yuan(amount)} → ${order.payNo}`);

  const prepay = (payWay: PayWay) =>
    within(timeoutMs, `Prepay ${payWayName(payWay)}`, hints.grpc, (signal) =>
      client.prepay({ order: ref, payWay, clientIp: '127.0.0.1' }, { signal }),
    );
  const first = await prepay(PayWay.PAY_WAY_MOCK);
  const firstUrl = payUrlOf(first);
  say('Prepay', `MOCK → attempt ${first.attemptNo}; the buyer keeps its cashier page open`);
  const second = await prepay(PayWay.PAY_WAY_MOCK_QR);
  say('Prepay', `switch to MOCK_QR → attempt ${second.attemptNo} (attempt ${first.attemptNo} closed at the channel)`);

  await within(timeoutMs, `the sandbox buyer paying at ${payUrlOf(second)}`, hints.grpc, (signal) => buyerPays(payUrlOf(second), signal));
  const paid = await within(timeoutMs, `PAYMENT_SUCCEEDED of ${order.payNo} at the order side`, hints.events, (signal) =>
    ctx.inbox.next(order.payNo, PaymentEventType.PAYMENT_EVENT_TYPE_PAYMENT_SUCCEEDED, signal),
  );
  say('buyer pays', `attempt ${second.attemptNo}: ${eventTypeName(paid.event.type)} ${statusName(paid.event.status)} ${yuan(amount)}`);

  // The first page's Pay button, pressed as its trade closes: the cashier takes the money anyway.
  await within(timeoutMs, `the mock sandbox at ${mockSandboxUrl}`, 'is `npm run dev` running?', async (signal) => {
    const res = await fetch(new URL('/sandbox/buyer-faults', mockSandboxUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'successAfterClose' }),
      signal,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`POST /sandbox/buyer-faults answered ${res.status}`);
  });
  await within(timeoutMs, `the buyer paying attempt ${first.attemptNo} too`, hints.grpc, async (signal) => {
    const res = await fetch(firstUrl, { method: 'POST', headers: { accept: 'application/json' }, signal });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`POST ${firstUrl} answered ${res.status}`);
  });
  say('buyer pays', `attempt ${first.attemptNo} too, from the page left open: the buyer has paid twice`);

  const duplicate = await within(timeoutMs, `DUPLICATE_PAYMENT of ${order.payNo} at the order side`, hints.events, (signal) =>
    ctx.inbox.next(order.payNo, PaymentEventType.PAYMENT_EVENT_TYPE_DUPLICATE_PAYMENT, signal),
  );
  say(
    'event',
    `${eventTypeName(duplicate.event.type)} (trade ${duplicate.event.channelTradeNo}); order still ${statusName(duplicate.event.status)}`,
  );
  const refunded = await within(
    timeoutMs,
    `DUPLICATE_PAYMENT_REFUNDED of ${order.payNo} at the order side`,
    `${hints.events}; the service refunds a duplicate on its own only under DUPLICATE_PAYMENT_POLICY=refund (the default)`,
    (signal) => ctx.inbox.next(order.payNo, PaymentEventType.PAYMENT_EVENT_TYPE_DUPLICATE_PAYMENT_REFUNDED, signal),
  );
  say('event', `${eventTypeName(refunded.event.type)} ${yuan(refunded.event.refundAmount)} (${refunded.event.outRefundNo})`);

  const shown = await within(timeoutMs, `Query ${order.payNo}`, hints.grpc, (signal) =>
    poll(signal, async () => {
      const { order: now } = await client.query({ order: ref }, { signal });
      const refund = now?.refunds.find((r) => r.duplicate && r.status === RefundStatus.REFUND_STATUS_SUCCESS);
      return refund && { order: now!, refund };
    }),
  );
  if (shown.order.status !== OrderStatus.ORDER_STATUS_SUCCESS || shown.order.refundedAmount !== 0n) {
    throw new DemoError(
      `order ${order.payNo} is ${statusName(shown.order.status)}, refunded ${yuan(shown.order.refundedAmount)}`,
      'see the service log',
    );
  }
  say(
    'Query',
    `order ${statusName(shown.order.status)}, refunded ${yuan(shown.order.refundedAmount)} of its own payment; ` +
      `duplicate attempt ${shown.refund.attemptNo} refunded ${yuan(shown.refund.amount)} (${refundStatusName(shown.refund.status)})`,
  );
  return { payNo: order.payNo, amount, refundStatus: shown.refund.status, refundAmount: shown.refund.amount };
}

function payUrlOf(pre: PrepayResponse): string {
  const p = pre.payload;
  if (p?.$case === 'mockPayUrl' || p?.$case === 'qrCodeUrl') return p.value;
  throw new DemoError(`Prepay handed out ${p?.$case ?? 'nothing'}, not a URL the sandbox buyer can open`, 'check the mock pay ways');
}
