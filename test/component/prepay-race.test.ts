import { status, type ServiceError } from '@grpc/grpc-js';
import { OrderStatus, PayWay, type PayOrder } from '../../src/gen/payment/v1/types';
import type { PrepayResponse } from '../../src/gen/payment/v1/payment_service';
import { expireOrder } from '../../src/app/expire-order';
import { openAttempt } from '../../src/app/open-attempt';
import { MAX_PAY_WAY_SWITCHES } from '../../src/app/prepay';
import { ConcurrencyError } from '../../src/domain/errors';
import { tradeSnapshot } from '../../src/app/snapshots';
import { eventually, grpcError, mockAccount, newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, mockAttempts, orderRow as orderRowOf, prepayOn, ref } from '../support/orders';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
afterEach(() => h.gateway.clearFaults());

const ORDERS = 20;
const CONCURRENT = 20;
const WAYS = [PayWay.PAY_WAY_MOCK, PayWay.PAY_WAY_MOCK_QR];

type Answer = { seq: number; ok: PrepayResponse } | { seq: number; err: ServiceError };

/**
 * CONCURRENT Prepays of one order alternating pay ways (through `callers` in turn), on `orders` orders; after
 * each: exactly one payable attempt, the one the last OK answer (by completion) named, and the channel agrees.
 */
async function race(callers: Harness[], orders: number): Promise<void> {
  const tenant = await newTenant(h);
  let switchesSeen = 0;
  for (let round = 0; round < orders; round++) {
    const order = await createOrder(h, tenant);
    let seq = 0;
    let firstOk!: () => void;
    const someOk = new Promise<void>((resolve) => (firstOk = resolve));
    const fire = (i: number): Promise<Answer> =>
      callers[i % callers.length].call('prepay', { order: ref(order), payWay: WAYS[i % 2], clientIp: '127.0.0.1', payerId: '' }).then(
        (ok): Answer => (firstOk(), { seq: seq++, ok }),
        (err: ServiceError): Answer => ({ seq: seq++, err }),
      );
    // Odd rounds fire half at once and half once an attempt is open, so switches also find an OPEN attempt.
    const wave = round % 2 === 0 ? CONCURRENT : CONCURRENT / 2;
    const first = Array.from({ length: wave }, (_, i) => fire(i));
    const second = someOk.then(() => Promise.all(Array.from({ length: CONCURRENT - wave }, (_, i) => fire(wave + i))));
    const answers: Answer[] = [...(await Promise.all(first)), ...(wave < CONCURRENT ? await second : [])];

    // A loser joins the winner or fails cleanly: lost the race (ABORTED) or out of switches (FAILED_PRECONDITION).
    for (const a of answers) {
      if ('err' in a) expect([status.ABORTED, status.FAILED_PRECONDITION]).toContain(a.err.code);
    }
    const oks = answers.flatMap((a) => ('ok' in a ? [a] : [])).sort((x, y) => x.seq - y.seq);
    expect(oks.length).toBeGreaterThan(0);
    const last = oks[oks.length - 1].ok;

    const db = h.service.deps.db;
    const row = await db.payOrder.findUniqueOrThrow({ where: { payNo: order.payNo } });
    const attempts = await db.payAttempt.findMany({ where: { payNo: order.payNo }, orderBy: { id: 'asc' } });
    const live = attempts.filter((a) => a.status === 'CREATED' || a.status === 'OPEN');
    expect(row.status).toBe('PAYING');
    expect(live.map((a) => [a.attemptNo, a.status])).toEqual([[last.attemptNo, 'OPEN']]);
    expect(row.payWay).toBe(live[0].payWay);

    // The channel agrees: the one handed out last is open, every other one is closed or never reached it.
    expect(h.gateway.trade(last.attemptNo)?.status).toBe('NOTPAY');
    expect(last.payload?.value).toBe(`${h.gatewayUrl}/pay/${last.attemptNo}`);
    for (const a of attempts.filter((x) => x.attemptNo !== last.attemptNo)) {
      expect([a.attemptNo, h.gateway.trade(a.attemptNo)?.status ?? 'never sent']).toEqual([
        a.attemptNo,
        expect.stringMatching(/^(CLOSED|never sent)$/),
      ]);
      expect(a.status).toMatch(/^(CLOSED|FAILED)$/);
    }

    // Every switch counted is a real one: a change of pay way from one attempt to the next, audited once.
    const changes = attempts.filter((a, i) => i > 0 && a.payWay !== attempts[i - 1].payWay).length;
    const trail = await db.orderTransition.findMany({ where: { payNo: order.payNo } });
    expect(row.payWaySwitches).toBe(changes);
    expect(trail.filter((t) => t.detail.startsWith('switch')).length).toBe(changes);
    expect(row.payWaySwitches).toBeLessThanOrEqual(MAX_PAY_WAY_SWITCHES);
    switchesSeen += row.payWaySwitches;
  }
  expect(switchesSeen).toBeGreaterThan(0); // the race did exercise switches
}

describe('Prepay under concurrency', () => {
  it('When many Prepays of one order race with alternating pay ways, then the order keeps exactly one payable attempt, the one the last OK answer named', async () => {
    await race([h], ORDERS);
  }, 240_000);

  it('When they race through two instances that share no in-flight markers, then the same holds: correctness does not rest on Redis', async () => {
    // Another QUEUE_PREFIX: the second instance never sees the first one's markers, as if Redis lost them.
    const h2 = await startHarness({}, { gateway: h.gateway, gatewayUrl: h.gatewayUrl });
    try {
      await race([h, h2], 8);
    } finally {
      await h2.close();
    }
  }, 240_000);
});

const prepay = (order: PayOrder, payWay: PayWay) => prepayOn(h, order, payWay);
const attemptsOf = (order: PayOrder) => mockAttempts(h, order);
const orderRow = (order: PayOrder) => orderRowOf(h, order);

describe('a pay way switch whose close of the previous attempt does not simply succeed', () => {
  /** An order with an OPEN MOCK attempt whose switch to MOCK_QR could not close it (the channel answered 500). */
  async function switchCloseUnanswered(): Promise<{ order: PayOrder; first: PrepayResponse; newAttemptNo: string }> {
    const order = await createOrder(h, await newTenant(h));
    const first = await prepay(order, PayWay.PAY_WAY_MOCK);
    h.gateway.inject({ kind: 'serverError' }, 1);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK_QR), status.UNAVAILABLE);
    expect(err.details).toContain('could not close the MOCK attempt');
    const attempts = await attemptsOf(order);
    // The previous attempt stays the payable one; the new one is claimed (the switch counted) but never sent.
    expect(attempts).toEqual([
      { attemptNo: first.attemptNo, status: 'OPEN', atChannel: 'NOTPAY' },
      { attemptNo: expect.any(String), status: 'CREATED', atChannel: 'never sent' },
    ]);
    expect(await orderRow(order)).toMatchObject({ status: 'PAYING', payWay: 'MOCK_QR', payWaySwitches: 1 });
    return { order, first, newAttemptNo: attempts[1].attemptNo };
  }

  it('When the channel cannot close the previous attempt, then UNAVAILABLE and only the previous stays payable; a retry finishes the switch', async () => {
    const { order, first, newAttemptNo } = await switchCloseUnanswered();
    const retry = await prepay(order, PayWay.PAY_WAY_MOCK_QR);
    expect(retry).toMatchObject({ attemptNo: newAttemptNo, replayed: false });
    expect(await attemptsOf(order)).toEqual([
      { attemptNo: first.attemptNo, status: 'CLOSED', atChannel: 'CLOSED' },
      { attemptNo: newAttemptNo, status: 'OPEN', atChannel: 'NOTPAY' },
    ]);
    expect((await orderRow(order)).payWaySwitches).toBe(1);
  });

  it('When the buyer pays the previous attempt after its close went unanswered, then the order is paid and the switch is refused', async () => {
    const { order, first, newAttemptNo } = await switchCloseUnanswered();
    h.gateway.pay(first.attemptNo);
    await eventually(async () => (await orderRow(order)).status === 'SUCCESS');
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK_QR), status.FAILED_PRECONDITION);
    expect(err.details).toContain('SUCCESS');
    expect(h.gateway.trade(newAttemptNo)).toBeUndefined();
  });

  it('When the order expires after a close went unanswered, then the timeout closes every attempt and the order', async () => {
    const { order, first } = await switchCloseUnanswered();
    await h.service.deps.db.payOrder.update({ where: { payNo: order.payNo }, data: { expireAt: new Date(Date.now() - 1000) } });
    expect(await expireOrder(h.service.deps, order.tenantId, order.payNo)).toEqual({ kind: 'done', status: 'CLOSED' });
    expect((await attemptsOf(order)).map((a) => [a.status, a.atChannel])).toEqual([
      ['CLOSED', 'CLOSED'],
      ['CLOSED', 'never sent'],
    ]);
    expect(h.gateway.trade(first.attemptNo)?.status).toBe('CLOSED');
  });

  it('When the close reveals the previous attempt was paid, then the order is SUCCESS and the new attempt is closed, never sent', async () => {
    const order = await createOrder(h, await newTenant(h));
    const first = await prepay(order, PayWay.PAY_WAY_MOCK);
    h.gateway.inject({ kind: 'dropNotify' }, 10); // only the close reveals the payment
    h.gateway.pay(first.attemptNo);
    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK_QR), status.FAILED_PRECONDITION);
    expect(err.details).toContain('already paid with MOCK');
    expect(await attemptsOf(order)).toEqual([
      { attemptNo: first.attemptNo, status: 'SUCCESS', atChannel: 'SUCCESS' },
      { attemptNo: expect.any(String), status: 'CLOSED', atChannel: 'never sent' },
    ]);
    expect(await orderRow(order)).toMatchObject({ status: 'SUCCESS', payWay: 'MOCK' });
  });

  it('When a Cancel races pay way switches, then the order ends closed with nothing open at the channel, or paying with exactly the last answer open', async () => {
    const tenant = await newTenant(h);
    for (let round = 0; round < 8; round++) {
      const order = await createOrder(h, tenant);
      await prepay(order, PayWay.PAY_WAY_MOCK);
      let seq = 0;
      const stamp = <T>(p: Promise<T>) =>
        p.then(
          (ok) => ({ seq: seq++, ok }),
          (err: ServiceError) => ({ seq: seq++, err }),
        );
      const [switched, cancelled] = await Promise.all([
        stamp(prepay(order, PayWay.PAY_WAY_MOCK_QR)),
        stamp(h.call('cancel', { order: ref(order), reason: 'race' })),
      ]);
      const row = await orderRow(order);
      const attempts = await attemptsOf(order);
      if (row.status === 'CLOSED') {
        expect('ok' in cancelled && cancelled.ok.order?.status).toBe(OrderStatus.ORDER_STATUS_CLOSED);
        expect(attempts.filter((a) => a.status !== 'CLOSED' || !['CLOSED', 'never sent'].includes(a.atChannel))).toEqual([]);
      } else {
        expect(row.status).toBe('PAYING');
        expect('err' in cancelled && cancelled.err.code).toBe(status.ABORTED);
        expect('ok' in switched).toBe(true);
        const open = attempts.filter((a) => a.status === 'OPEN' || a.status === 'CREATED');
        expect(open).toEqual([{ attemptNo: 'ok' in switched && switched.ok.attemptNo, status: 'OPEN', atChannel: 'NOTPAY' }]);
      }
      if ('err' in switched) expect([status.ABORTED, status.FAILED_PRECONDITION]).toContain(switched.err.code);
    }
  }, 60_000);
});

describe('an attempt left behind by a crash', () => {
  it('When the current attempt was closed at the channel by a close that crashed before recording it, then Prepay does not hand out the closed trade', async () => {
    const order = await createOrder(h, await newTenant(h));
    h.gateway.inject({ kind: 'serverError' }, 1);
    await grpcError(prepay(order, PayWay.PAY_WAY_MOCK), status.UNAVAILABLE); // the attempt stays CREATED
    const db = h.service.deps.db;
    const [attempt] = await db.payAttempt.findMany({ where: { payNo: order.payNo } });
    // A Cancel opens and closes the trade at the channel, then dies before its local write.
    const handler = h.service.deps.channels.require('MOCK');
    const row = await orderRow(order);
    const call = { account: mockAccount(h, row.tenantId) };
    expect((await handler.prepay(tradeSnapshot(row, attempt), call)).outcome).toBe('success');
    expect(await handler.close(tradeSnapshot(row, attempt), call)).toMatchObject({ outcome: 'closed' });

    const err = await grpcError(prepay(order, PayWay.PAY_WAY_MOCK), status.FAILED_PRECONDITION);
    expect(err.details).toContain('TRADE_CLOSED');
    const retry = await prepay(order, PayWay.PAY_WAY_MOCK); // a fresh attempt, not a switch
    expect(retry.attemptNo).not.toBe(attempt.attemptNo);
    expect(await attemptsOf(order)).toEqual([
      { attemptNo: attempt.attemptNo, status: 'FAILED', atChannel: 'CLOSED' },
      { attemptNo: retry.attemptNo, status: 'OPEN', atChannel: 'NOTPAY' },
    ]);
    expect((await orderRow(order)).payWaySwitches).toBe(0);
  });
});

describe('a superseded attempt', () => {
  it('When a Prepay that read the order before a switch finishes opening the old attempt, then it is not handed out but closed', async () => {
    const order = await createOrder(h, await newTenant(h));
    h.gateway.inject({ kind: 'serverError' }, 1);
    await grpcError(prepay(order, PayWay.PAY_WAY_MOCK), status.UNAVAILABLE);
    const [old] = await h.service.deps.db.payAttempt.findMany({ where: { payNo: order.payNo } });
    h.gateway.inject({ kind: 'serverError' }, 1); // the switch claims, but cannot close the old attempt
    await grpcError(prepay(order, PayWay.PAY_WAY_MOCK_QR), status.UNAVAILABLE);

    // The slow Prepay of the old attempt (no marker shared: another instance, or Redis lost it) now opens it.
    const deps = h.service.deps;
    const row = await orderRow(order);
    const slow = openAttempt(deps, {
      order: row,
      attempt: old,
      superseded: [],
      handler: deps.channels.require('MOCK'),
      call: { account: mockAccount(h, row.tenantId) },
      marker: { extend: async () => true, release: async () => undefined },
      ctx: {},
    });
    await expect(slow).rejects.toBeInstanceOf(ConcurrencyError);
    const [oldNow, current] = await attemptsOf(order);
    expect(oldNow).toEqual({ attemptNo: old.attemptNo, status: 'CLOSED', atChannel: 'CLOSED' });

    const done = await prepay(order, PayWay.PAY_WAY_MOCK_QR); // the retry finishes the switch
    expect(done.attemptNo).toBe(current.attemptNo);
    expect((await attemptsOf(order)).map((a) => [a.status, a.atChannel])).toEqual([
      ['CLOSED', 'CLOSED'],
      ['OPEN', 'NOTPAY'],
    ]);
  });
});
