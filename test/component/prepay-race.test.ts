import { status, type ServiceError } from '@grpc/grpc-js';
import { PayWay } from '../../src/gen/payment/v1/types';
import type { PrepayResponse } from '../../src/gen/payment/v1/payment_service';
import { MAX_PAY_WAY_SWITCHES } from '../../src/app/prepay';
import { newTenant, startHarness, type Harness } from '../support/harness';
import { createOrder, ref } from '../support/orders';

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

describe('Prepay under concurrency', () => {
  it('When many Prepays of one order race with alternating pay ways, then the order keeps exactly one payable attempt, the one the last OK answer named', async () => {
    const tenant = await newTenant(h);
    let switchesSeen = 0;
    for (let round = 0; round < ORDERS; round++) {
      const order = await createOrder(h, tenant);
      let seq = 0;
      let firstOk!: () => void;
      const someOk = new Promise<void>((resolve) => (firstOk = resolve));
      const fire = (i: number): Promise<Answer> =>
        h.call('prepay', { order: ref(order), payWay: WAYS[i % 2], clientIp: '127.0.0.1', payerId: '' }).then(
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
  }, 240_000);
});
