/**
 * The refunds the service makes by itself: of a payment that arrived after its order closed (the order's own
 * payment, policy PAID_AFTER_CLOSE_POLICY=refund), and of a duplicate payment (a second paid attempt,
 * DUPLICATE_PAYMENT_POLICY=refund). Each try has a fixed out_refund_no, so however often a try is started (a
 * notify, a job, the sweep, a crash and a rerun), the tenant's unique (tenant, out_refund_no) lets it exist once:
 * AUTO-<pay_no> / DUP-<attempt_no> for the first, then -2, -3 … for the tries after a failure at the channel.
 * Callers cannot use these prefixes (the Refund RPC refuses them).
 */
export type AutomaticRefundKind = 'paidAfterClose' | 'duplicate';

/** What an automatic refund gives back: the order's payment (after close), or one duplicate attempt. */
export interface AutomaticRefundTarget {
  tenantId: string;
  payNo: string;
  /** The duplicate attempt; absent for the order's own payment after close. */
  attemptNo?: string;
}

/** The requested_by of each kind's refunds: how a refund is known as automatic (a caller's name has no "system:"). */
export const AUTOMATIC_REFUND_ACTORS: Readonly<Record<AutomaticRefundKind, string>> = {
  paidAfterClose: 'system:paid-after-close',
  duplicate: 'system:duplicate-payment',
};

/** The reason each kind's refunds give the channel (the same on every try: a resend replays it exactly). */
export const AUTOMATIC_REFUND_REASONS: Readonly<Record<AutomaticRefundKind, string>> = {
  paidAfterClose: 'paid after the order was closed',
  duplicate: 'paid twice: duplicate payment',
};

/** The out_refund_no prefixes reserved for automatic refunds. */
export const AUTOMATIC_REFUND_PREFIXES = ['AUTO-', 'DUP-'] as const;

export const kindOf = (target: AutomaticRefundTarget): AutomaticRefundKind => (target.attemptNo ? 'duplicate' : 'paidAfterClose');

/** The out_refund_no of try `tryNo` (1 for the first) of the target's automatic refund. */
export function automaticRefundNo(target: AutomaticRefundTarget, tryNo: number): string {
  const base = target.attemptNo ? `DUP-${target.attemptNo}` : `AUTO-${target.payNo}`;
  return tryNo === 1 ? base : `${base}-${tryNo}`;
}

/** Which automatic refund, and which try of it, a refund is; undefined for a caller's refund. */
export function automaticRefundOf(refund: {
  tenantId: string;
  payNo: string;
  attemptNo: string;
  outRefundNo: string;
  requestedBy: string;
}): { target: AutomaticRefundTarget; kind: AutomaticRefundKind; tryNo: number } | undefined {
  const kind = (Object.keys(AUTOMATIC_REFUND_ACTORS) as AutomaticRefundKind[]).find(
    (k) => AUTOMATIC_REFUND_ACTORS[k] === refund.requestedBy,
  );
  if (!kind) return undefined;
  const target: AutomaticRefundTarget = {
    tenantId: refund.tenantId,
    payNo: refund.payNo,
    ...(kind === 'duplicate' ? { attemptNo: refund.attemptNo } : {}),
  };
  const base = automaticRefundNo(target, 1);
  if (refund.outRefundNo === base) return { target, kind, tryNo: 1 };
  const m = /^-(\d+)$/.exec(refund.outRefundNo.slice(base.length));
  if (!refund.outRefundNo.startsWith(base) || !m) return undefined;
  return { target, kind, tryNo: Number(m[1]) };
}

/**
 * Tries in all: the first, then one after each wait of the retry schedule. After the last one fails the service
 * stops and says so (AUTOMATIC_REFUND_FAILED).
 */
export const automaticRefundTries = (retryDelaysMs: readonly number[]): number => retryDelaysMs.length + 1;

/** When try `tryNo + 1` is due, after try `tryNo` failed at `failedAt`; undefined when `tryNo` was the last. */
export function nextTryDueAt(retryDelaysMs: readonly number[], tryNo: number, failedAt: Date): Date | undefined {
  const wait = retryDelaysMs[tryNo - 1];
  return wait === undefined ? undefined : new Date(failedAt.getTime() + wait);
}
