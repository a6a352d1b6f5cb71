import { canTransition, ORDER_STATUSES, statusAfterRefund, type OrderStatus } from '../../src/domain/order-status';

/** The legal pairs, written out independently of the table in src/domain/order-status.ts. */
const LEGAL = new Set<string>([
  'WAIT_PAY>PAYING',
  'WAIT_PAY>CLOSED',
  'PAYING>PAYING',
  'PAYING>SUCCESS',
  'PAYING>CLOSED',
  'PAYING>FAILED',
  'SUCCESS>PARTIAL_REFUNDED',
  'SUCCESS>REFUNDED',
  'CLOSED>PAID_AFTER_CLOSE',
  'FAILED>PAYING',
  'FAILED>SUCCESS',
  'FAILED>CLOSED',
  'FAILED>PAID_AFTER_CLOSE',
  'PARTIAL_REFUNDED>PARTIAL_REFUNDED',
  'PARTIAL_REFUNDED>REFUNDED',
  'PAID_AFTER_CLOSE>SUCCESS',
  'PAID_AFTER_CLOSE>PARTIAL_REFUNDED',
  'PAID_AFTER_CLOSE>REFUNDED',
]);

const pairs: Array<[OrderStatus, OrderStatus, boolean]> = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.map((to): [OrderStatus, OrderStatus, boolean] => [from, to, LEGAL.has(`${from}>${to}`)]),
);

describe('order status table', () => {
  it('covers all 64 pairs', () => {
    expect(pairs).toHaveLength(64);
  });

  it.each(pairs)('%s -> %s is legal: %s', (from, to, legal) => {
    expect(canTransition(from, to)).toBe(legal);
  });

  it('never leaves a paid order for an unpaid status', () => {
    for (const from of ['SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'] as const) {
      for (const to of ['WAIT_PAY', 'PAYING', 'CLOSED', 'FAILED'] as const) expect(canTransition(from, to)).toBe(false);
    }
  });

  it.each([
    [10000n, 1n, 'PARTIAL_REFUNDED'],
    [10000n, 9999n, 'PARTIAL_REFUNDED'],
    [10000n, 10000n, 'REFUNDED'],
  ] as const)('after refunding, of %s paid, %s in total: %s', (amount, refunded, status) => {
    expect(statusAfterRefund(amount, refunded)).toBe(status);
  });
});
