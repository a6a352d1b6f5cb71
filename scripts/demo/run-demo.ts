import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PaymentClient, PayWay } from '../../src/client';
import { EventInbox } from './event-inbox';
import { DemoError, payWayName, within, yuan } from './steps';
import { walkDuplicate, type WalkedDuplicate } from './walk-duplicate';
import { walkOrder, type DemoChannel, type WalkedOrder } from './walk-order';

export interface DemoOptions {
  /** PaymentService's gRPC address, host:port. */
  address: string;
  /** The bearer token of a caller allowed to pay for the tenant (`npm run dev` prints and keeps one). */
  token?: string;
  /** The Redis paysvc delivers events through. */
  redisUrl: string;
  /** paysvc's EVENT_QUEUE_PREFIX: the order-side consumer reads the run's topic under it. */
  eventQueuePrefix: string;
  /** The sandbox channels the tenant's accounts point at (checked to be up before anything is created). */
  sandboxUrls: { mock: string; alipay: string; wechat: string };
  /** A tenant registered with the sandbox Alipay and WeChat Pay accounts. Default "demo" (as `npm run dev` does). */
  tenantId?: string;
  /** How long each step may wait. Default 15 s. */
  timeoutMs?: number;
  /** Names the run's orders and notify topic. Default: from the clock, plus a random part. */
  runId?: string;
}

export type Print = (line: string) => void;

export interface DemoResult {
  runId: string;
  topic: string;
  orders: WalkedOrder[];
  /** The order its buyer paid twice, and the duplicate's automatic refund. */
  duplicate: WalkedDuplicate;
}

/** What each order goes through; amounts are fen. */
export const DEMO_CHANNELS: readonly DemoChannel[] = [
  { label: 'mock', channel: 'mock', payWay: PayWay.PAY_WAY_MOCK, subject: 'Demo mug', amount: 1999n, refund: 500n },
  { label: 'alipay', channel: 'alipay', payWay: PayWay.PAY_WAY_ALIPAY_QR, subject: 'Demo tea set', amount: 8888n, refund: 2222n },
  { label: 'wechat', channel: 'wechat', payWay: PayWay.PAY_WAY_WECHAT_NATIVE, subject: 'Demo teapot', amount: 6600n, refund: 1650n },
];

/**
 * Walks one order per channel through its whole life against a running paysvc (see walkOrder), printing a line
 * per step. Resolves when every order got there; fails with a DemoError naming the step and what to check.
 */
export async function runDemo(opts: DemoOptions, print: Print): Promise<DemoResult> {
  const tenantId = opts.tenantId ?? 'demo';
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const runId = opts.runId ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const topic = `demo.${runId}`;
  const started = Date.now();
  const hints = {
    grpc:
      `is \`npm run dev\` running? PaymentService is expected at ${opts.address}; ` +
      `UNAUTHENTICATED means PAYSVC_TOKEN is not a configured caller's token (npm run dev keeps its own in .data/dev-caller.token)`,
    events:
      `paysvc delivers events to the queue "${topic}" under ${opts.eventQueuePrefix} in ${opts.redisUrl}: does EVENT_QUEUE_PREFIX ` +
      `match the service's, and REDIS_URL its Redis? ListEvents shows the delivery attempts`,
  };
  print(`paysvc demo ${runId}: PaymentService ${opts.address}, tenant ${tenantId}, events on ${opts.eventQueuePrefix}${topic}`);

  await sandboxesUp(opts.sandboxUrls, timeoutMs);
  const client = new PaymentClient(opts.address, { token: opts.token });
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  let redisError = '';
  redis.on('error', (err: Error) => (redisError = err.message));
  let inbox: EventInbox | undefined;
  try {
    await payWaysEnabled(client, tenantId, timeoutMs, hints.grpc);
    await within(
      timeoutMs,
      `connecting to Redis at ${opts.redisUrl}`,
      `is \`npm run dev\` running? set REDIS_URL to the Redis it printed`,
      async () => {
        await redis.connect().catch((err: Error) => Promise.reject(new Error(redisError || err.message)));
        await redis.ping();
      },
    );
    const consumer = new EventInbox(redis, opts.eventQueuePrefix, topic);
    inbox = consumer;
    await within(timeoutMs, 'starting the order-side consumer', hints.events, () => consumer.ready());
    print(`order side consuming ${topic} (examples/order-consumer.ts: dedupe on event id, newest version wins)`);

    const orders: WalkedOrder[] = [];
    const ctx = { client, inbox: consumer, tenantId, runId, topic, timeoutMs, hints, print };
    for (const ch of DEMO_CHANNELS) orders.push(await walkOrder(ctx, ch));
    const duplicate = await walkDuplicate(ctx, opts.sandboxUrls.mock);
    const sum = (f: (o: WalkedOrder) => bigint) => orders.reduce((s, o) => s + f(o), 0n);
    const events = orders.reduce((n, o) => n + o.eventsDelivered, 0);
    print(
      `demo complete: ${orders.length} orders paid ${yuan(sum((o) => o.amount))}, refunded ${yuan(sum((o) => o.refundedAmount))}, ` +
        `${events} events delivered and applied; a payment made twice refunded ${yuan(duplicate.refundAmount)}; ` +
        `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return { runId, topic, orders, duplicate };
  } finally {
    client.close();
    await inbox?.close();
    if (redis.status === 'ready') {
      // The run's topic is the run's alone: leave no queue behind in the developer's Redis.
      const queue = new Queue(topic, { connection: redis, prefix: opts.eventQueuePrefix });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    redis.disconnect();
  }
}

/** Each sandbox answers HTTP at all (any status): the buyer will need it. */
async function sandboxesUp(urls: DemoOptions['sandboxUrls'], timeoutMs: number): Promise<void> {
  for (const [name, url] of Object.entries(urls)) {
    await within(
      Math.min(timeoutMs, 5000),
      `reaching the ${name} sandbox at ${url}`,
      'is `npm run dev` running? it starts the sandboxes on 9100/9101/9102',
      (signal) => fetch(url, { signal }).then((res) => res.arrayBuffer()),
    );
  }
}

/** The tenant can pay every demo pay way: it has its Alipay and WeChat Pay accounts and the mock channel is on. */
async function payWaysEnabled(client: PaymentClient, tenantId: string, timeoutMs: number, hint: string): Promise<void> {
  const register =
    '`npm run dev` registers tenant "demo" with the mock channel on and the sandbox accounts; for another tenant, ' +
    `register it with \`npm run tenant -- add ${tenantId} --mock\` and its accounts with \`npm run channel:account\``;
  const { payWays } = await within(timeoutMs, 'ListPayWays', hint, (signal) => client.listPayWays({ tenantId }, { signal })).catch(
    (err: unknown) => {
      // NOT_FOUND: the tenant is not registered (every RPC for an unknown tenant is).
      throw err instanceof DemoError && /NOT_FOUND|not registered/.test(err.message) ? new DemoError(err.message, register) : err;
    },
  );
  const needed = [...DEMO_CHANNELS.map((ch) => ch.payWay), PayWay.PAY_WAY_MOCK_QR]; // MOCK_QR: the duplicate's switch
  const off = needed.filter((w) => !payWays.some((p) => p.payWay === w && p.enabled)).map(payWayName);
  if (off.length > 0) {
    throw new DemoError(`tenant ${tenantId} cannot pay with ${off.join(', ')}`, register);
  }
}
