import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { OrderStatus, PayWay, PaymentClient, PaymentError, type PayOrder } from '../../src/client';
import type { PrepayResponse } from '../../src/gen/payment/v1/payment_service';
import type { Channels } from './channels';
import { TENANT } from './channels';
import { EXPIRING_SECONDS } from './invariants';
import { sleep } from './processes';

export const TOPIC = 'order.pay.notify';

const ALL_PAY_WAYS = [
  PayWay.PAY_WAY_MOCK,
  PayWay.PAY_WAY_MOCK_QR,
  PayWay.PAY_WAY_ALIPAY_APP,
  PayWay.PAY_WAY_ALIPAY_WAP,
  PayWay.PAY_WAY_ALIPAY_PAGE,
  PayWay.PAY_WAY_ALIPAY_QR,
  PayWay.PAY_WAY_WECHAT_APP,
  PayWay.PAY_WAY_WECHAT_JSAPI,
  PayWay.PAY_WAY_WECHAT_NATIVE,
  PayWay.PAY_WAY_WECHAT_H5,
];

type Story = 'pay' | 'payAndRefund' | 'payTwice' | 'payAfterClose' | 'cancelRace' | 'neverPay' | 'neverPrepay';
/** How often each story is told (weights). The two that leave orders to expire are told only early on. */
const STORIES: [Story, number][] = [
  ['pay', 3],
  ['payAndRefund', 4],
  ['payTwice', 1],
  ['payAfterClose', 1],
  ['cancelRace', 2],
  ['neverPay', 1],
  ['neverPrepay', 1],
];

export interface LoadStats {
  orders: number;
  /** Calls made (each with the typed client's own retries). */
  calls: number;
  stories: Record<string, number>;
  prepays: Record<string, number>;
  buyerPayments: number;
  buyerRefused: number;
  refundsAsked: number;
  refundsRefused: number;
  cancels: number;
  /** Calls that failed, by gRPC code name (expected under faults; the invariants judge the outcome). */
  callErrors: Record<string, number>;
  /** Orders whose Cancel failed with no definite answer (UNAVAILABLE, DEADLINE_EXCEEDED): retried after the load. */
  cancelsToRetry: Set<string>;
}

/**
 * The run's traffic: `workers` order stories at a time until `until`, each an order told one way (paid once on a
 * pay way of every channel in turn, paid and refunded in parts and concurrently, paid twice, paid after it was
 * closed, cancelled while the buyer pays, never paid, never prepaid). Calls go through the typed client over the
 * three instances (round robin); failures are counted, not fatal: the invariants check what happened.
 */
export async function runLoad(opts: {
  client: PaymentClient;
  channels: Channels;
  workers: number;
  until: number;
  /** Stories that leave an order to expire stop this long before `until`, so their orders expire within the run. */
  expiringUntil: number;
}): Promise<LoadStats> {
  const stats: LoadStats = {
    orders: 0,
    calls: 0,
    stories: {},
    prepays: {},
    buyerPayments: 0,
    buyerRefused: 0,
    refundsAsked: 0,
    refundsRefused: 0,
    cancels: 0,
    callErrors: {},
    cancelsToRetry: new Set(),
  };
  // Every call counted (waitForStatus as one), for the report and the INTERNAL check's denominator.
  const client = new Proxy(opts.client, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        stats.calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const ctx = { ...opts, client, stats, payWayTurn: 0 };
  await Promise.all(
    Array.from({ length: opts.workers }, async () => {
      while (Date.now() < opts.until) {
        const story = pickStory(Date.now() < opts.expiringUntil);
        stats.stories[story] = (stats.stories[story] ?? 0) + 1;
        await tell(ctx, story).catch((err: unknown) => countError(stats, err));
      }
    }),
  );
  return stats;
}

type Ctx = Parameters<typeof runLoad>[0] & { stats: LoadStats; payWayTurn: number };

function pickStory(expiringAllowed: boolean): Story {
  const offered = STORIES.filter(([s]) => expiringAllowed || (s !== 'neverPay' && s !== 'neverPrepay'));
  let r = Math.random() * offered.reduce((sum, [, w]) => sum + w, 0);
  for (const [story, weight] of offered) {
    r -= weight;
    if (r < 0) return story;
  }
  return offered[0][0];
}

const CALL = { deadlineMs: 20_000 };

async function tell(ctx: Ctx, story: Story): Promise<void> {
  const { client } = ctx;
  const expiring = story === 'neverPay' || story === 'neverPrepay';
  const amount = BigInt(1000 + Math.floor(Math.random() * 20000));
  const { order } = await client.createOrder(
    {
      tenantId: TENANT,
      outOrderNo: `C${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      amount,
      currency: 'CNY',
      subject: 'Chaos goods',
      notifyTopic: TOPIC,
      userId: 'u-chaos',
      expireSeconds: expiring ? EXPIRING_SECONDS : 0,
    },
    CALL,
  );
  ctx.stats.orders += 1;
  const o = order!;
  switch (story) {
    case 'neverPrepay':
      return;
    case 'neverPay':
      await prepay(ctx, o, nextPayWay(ctx));
      return;
    case 'pay':
      await payOnce(ctx, o, nextPayWay(ctx));
      return;
    case 'payAndRefund':
      if (await payOnce(ctx, o, nextPayWay(ctx))) await refunds(ctx, o);
      return;
    case 'payTwice':
      return payTwice(ctx, o);
    case 'payAfterClose':
      return payAfterClose(ctx, o);
    case 'cancelRace':
      return cancelRace(ctx, o);
  }
}

function nextPayWay(ctx: Ctx): PayWay {
  return ALL_PAY_WAYS[ctx.payWayTurn++ % ALL_PAY_WAYS.length];
}

async function prepay(ctx: Ctx, o: PayOrder, payWay: PayWay): Promise<PrepayResponse> {
  const pre = await ctx.client.prepay(
    {
      order: ref(o),
      payWay,
      clientIp: '203.0.113.7',
      payerId: payWay === PayWay.PAY_WAY_WECHAT_JSAPI ? 'oChaosBuyer0000000000000001' : '',
    },
    CALL,
  );
  const name = PayWay[payWay].replace('PAY_WAY_', '');
  ctx.stats.prepays[name] = (ctx.stats.prepays[name] ?? 0) + 1;
  return pre;
}

/** Prepay, the buyer pays, and the order is seen paid; false when it was not within the wait. */
async function payOnce(ctx: Ctx, o: PayOrder, payWay: PayWay): Promise<boolean> {
  const pre = await prepay(ctx, o, payWay);
  await buyerPays(ctx, payWay, pre);
  return paid(ctx, o);
}

async function paid(ctx: Ctx, o: PayOrder): Promise<boolean> {
  try {
    await ctx.client.waitForStatus(ref(o), [OrderStatus.ORDER_STATUS_SUCCESS], { timeoutMs: 30_000, pollMs: 500 });
    return true;
  } catch (err) {
    countError(ctx.stats, err);
    return false;
  }
}

/** The sandbox buyer pays the attempt the way its pay way is paid: the cashier over HTTP, or the sandbox's own hand. */
async function buyerPays(ctx: Ctx, payWay: PayWay, pre: PrepayResponse): Promise<boolean> {
  const { mock, alipay, wechat } = ctx.channels;
  const url = pre.payload && typeof pre.payload.value === 'string' ? pre.payload.value : '';
  try {
    switch (payWay) {
      case PayWay.PAY_WAY_MOCK:
      case PayWay.PAY_WAY_MOCK_QR:
        mock.pay(pre.attemptNo);
        break;
      case PayWay.PAY_WAY_ALIPAY_APP:
        alipay.payOrderString(url);
        break;
      case PayWay.PAY_WAY_ALIPAY_WAP:
      case PayWay.PAY_WAY_ALIPAY_PAGE:
        await (await fetch(url)).arrayBuffer(); // the browser opens the cashier: the trade now exists
        alipay.pay(pre.attemptNo);
        break;
      case PayWay.PAY_WAY_ALIPAY_QR:
        alipay.pay(pre.attemptNo); // scans, then pays
        break;
      case PayWay.PAY_WAY_WECHAT_NATIVE:
      case PayWay.PAY_WAY_WECHAT_H5: {
        await (await fetch(url)).arrayBuffer();
        const res = await fetch(url, { method: 'POST' }); // the buyer presses Pay
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`cashier answered ${res.status}`);
        break;
      }
      case PayWay.PAY_WAY_WECHAT_APP:
      case PayWay.PAY_WAY_WECHAT_JSAPI:
        wechat.pay(pre.attemptNo); // the WeChat app pays what the SDK was handed
        break;
      case PayWay.PAY_WAY_UNSPECIFIED:
        throw new Error(`no buyer for pay way ${payWay}`);
    }
    ctx.stats.buyerPayments += 1;
    return true;
  } catch {
    ctx.stats.buyerRefused += 1; // closed meanwhile: the sandbox refused the payment
    return false;
  }
}

/** Partial refunds, some of them at once, some over what is left to refund. */
async function refunds(ctx: Ctx, o: PayOrder): Promise<void> {
  const refund = (amount: bigint) => {
    ctx.stats.refundsAsked += 1;
    return ctx.client
      .refund({ order: ref(o), outRefundNo: `R${randomUUID().replace(/-/g, '').slice(0, 24)}`, amount, reason: 'chaos' }, CALL)
      .catch((err: unknown) => {
        if (err instanceof PaymentError && (err.code === status.FAILED_PRECONDITION || err.code === status.INVALID_ARGUMENT)) {
          ctx.stats.refundsRefused += 1;
        } else countError(ctx.stats, err);
      });
  };
  const third = o.amount / 3n;
  switch (Math.floor(Math.random() * 3)) {
    case 0: // one part, then the rest and one fen more at once (one of the two must be refused)
      await refund(third);
      await Promise.all([refund(o.amount - third), refund(o.amount - third + 1n)]);
      break;
    case 1: // three halves at once: at most two can succeed
      await Promise.all([refund(o.amount / 2n), refund(o.amount / 2n), refund(o.amount / 2n)]);
      break;
    default: // all of it, then one fen more
      await refund(o.amount);
      await refund(1n);
  }
}

/**
 * The buyer pays twice: prepaid on MOCK, switched to MOCK_QR (the first trade closed at the channel), the second
 * paid, then the first too (as when the close and the payment cross at the channel): a duplicate payment, which
 * paysvc refunds by itself.
 */
async function payTwice(ctx: Ctx, o: PayOrder): Promise<void> {
  const first = await prepay(ctx, o, PayWay.PAY_WAY_MOCK);
  const second = await prepay(ctx, o, PayWay.PAY_WAY_MOCK_QR);
  await buyerPays(ctx, PayWay.PAY_WAY_MOCK_QR, second);
  if (!(await paid(ctx, o))) return;
  // Both in one synchronous step: no other story can take the fault in between.
  ctx.channels.mock.inject({ kind: 'successAfterClose' }, 1);
  await buyerPays(ctx, PayWay.PAY_WAY_MOCK, first);
}

/** Cancelled, then paid anyway at the channel: PAID_AFTER_CLOSE, refunded by paysvc. */
async function payAfterClose(ctx: Ctx, o: PayOrder): Promise<void> {
  const alipay = Math.random() < 0.5;
  const pre = await prepay(ctx, o, alipay ? PayWay.PAY_WAY_ALIPAY_QR : PayWay.PAY_WAY_MOCK);
  if (alipay) ctx.channels.alipay.scan(pre.attemptNo); // the trade exists at Alipay once scanned
  ctx.stats.cancels += 1;
  const order = await cancel(ctx, o, 'chaos: closed before the buyer paid');
  if (order?.status !== OrderStatus.ORDER_STATUS_CLOSED) return;
  if (alipay) {
    ctx.channels.alipay.inject({ kind: 'successAfterClose' }, 1);
    await buyerPays(ctx, PayWay.PAY_WAY_ALIPAY_QR, pre);
  } else {
    ctx.channels.mock.inject({ kind: 'successAfterClose' }, 1);
    await buyerPays(ctx, PayWay.PAY_WAY_MOCK, pre);
  }
}

/** Cancel and the buyer's payment at the same time: either may win, nothing may be lost. */
async function cancelRace(ctx: Ctx, o: PayOrder): Promise<void> {
  const payWay = [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_WECHAT_NATIVE, PayWay.PAY_WAY_ALIPAY_QR][Math.floor(Math.random() * 3)];
  const pre = await prepay(ctx, o, payWay);
  ctx.stats.cancels += 1;
  await Promise.all([cancel(ctx, o, 'chaos: race'), sleep(Math.random() * 30).then(() => buyerPays(ctx, payWay, pre))]);
}

/** Cancel; one that got no definite answer is noted, to be retried after the load as the order service would. */
async function cancel(ctx: Ctx, o: PayOrder, reason: string): Promise<PayOrder | undefined> {
  try {
    return (await ctx.client.cancel({ order: ref(o), reason }, CALL)).order;
  } catch (err) {
    countError(ctx.stats, err);
    if (err instanceof PaymentError && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
      ctx.stats.cancelsToRetry.add(o.payNo);
    }
    return undefined;
  }
}

const ref = (o: PayOrder) => ({ tenantId: o.tenantId, payNo: o.payNo });

function countError(stats: LoadStats, err: unknown): void {
  const name =
    err instanceof PaymentError
      ? `${status[err.code]}${err.reason ? `/${err.reason}` : ''}`
      : err instanceof Error
        ? err.message.slice(0, 60)
        : String(err);
  stats.callErrors[name] = (stats.callErrors[name] ?? 0) + 1;
}
