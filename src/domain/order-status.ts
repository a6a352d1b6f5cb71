/**
 * The order state machine as a pure table. Every status write elsewhere is a compare-and-set on the prior
 * status, and only the pairs listed here may be written.
 */
export const ORDER_STATUSES = [
  'WAIT_PAY',
  'PAYING',
  'SUCCESS',
  'CLOSED',
  'FAILED',
  'PARTIAL_REFUNDED',
  'REFUNDED',
  'PAID_AFTER_CLOSE',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  WAIT_PAY: ['PAYING', 'CLOSED'],
  // PAYING → PAYING is a pay way switch: a new attempt replaces the previous one.
  PAYING: ['PAYING', 'SUCCESS', 'CLOSED', 'FAILED'],
  SUCCESS: ['PARTIAL_REFUNDED', 'REFUNDED'],
  // A success the channel reports after we closed or failed the order is never dropped.
  CLOSED: ['PAID_AFTER_CLOSE'],
  // FAILED → PAYING is a retry: a Prepay opens a new attempt while the order has not expired and fewer than
  // MAX_PAY_ATTEMPTS of its attempts failed (the Prepay checks both; the table only allows the pair).
  // FAILED → CLOSED is a Cancel of a failed order: the order side gives up, and no retry can reopen it.
  // FAILED → SUCCESS: the declined attempt was paid after all before the order expired (it could still be retried,
  // so it was not given up); after expiry the same payment is PAID_AFTER_CLOSE.
  FAILED: ['PAYING', 'SUCCESS', 'CLOSED', 'PAID_AFTER_CLOSE'],
  // Another partial refund keeps the status; the refunded amount grows.
  PARTIAL_REFUNDED: ['PARTIAL_REFUNDED', 'REFUNDED'],
  REFUNDED: [],
  // Policy: reopen as paid, or refund (part or all) through the channel.
  PAID_AFTER_CLOSE: ['SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED'],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses in which money has been received from the buyer. */
export const PAID_STATUSES: readonly OrderStatus[] = ['SUCCESS', 'PARTIAL_REFUNDED', 'REFUNDED', 'PAID_AFTER_CLOSE'];

/** Statuses from which a refund may be started. */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ['SUCCESS', 'PARTIAL_REFUNDED', 'PAID_AFTER_CLOSE'];

/**
 * Statuses in which the buyer may still pay. FAILED is not one: nothing of it can be paid until a retry
 * (FAILED → PAYING) opens a new attempt, so a FAILED order is neither expired nor asked about as an open one.
 */
export const OPEN_STATUSES: readonly OrderStatus[] = ['WAIT_PAY', 'PAYING'];

export const isPaid = (s: OrderStatus): boolean => PAID_STATUSES.includes(s);
export const isOpen = (s: OrderStatus): boolean => OPEN_STATUSES.includes(s);

/** The status an order takes after a refund succeeds, given what has been refunded in total. */
export function statusAfterRefund(amount: bigint, refundedTotal: bigint): OrderStatus {
  return refundedTotal >= amount ? 'REFUNDED' : 'PARTIAL_REFUNDED';
}
