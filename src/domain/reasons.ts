/**
 * The reasons a failed call gives, for programs (AIP-193): each is sent as google.rpc.ErrorInfo.reason in the
 * domain `payment.v1`, with the gRPC code it always comes with. Stable: a reason is never renamed or reused for
 * another cause; a new cause gets a new line here (docs/errors.md lists them, a unit test keeps the two equal).
 *
 * `retry`: the same request may succeed later, so the status carries RetryInfo with `retryDelayMs`.
 * Reasons named after their code (NOT_FOUND, FAILED_PRECONDITION, …) are the fallback for an error that names
 * no reason of its own; paysvc's own throw sites always name a precise one.
 */
export const ERROR_DOMAIN = 'payment.v1';

/** The gRPC codes paysvc answers with, by name (the domain layer does not import gRPC). */
export type StatusName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED';

interface ReasonSpec {
  code: StatusName;
  /** When it happens, in one line (docs/errors.md repeats it). */
  when: string;
  /** A retry of the same request may succeed: the status carries RetryInfo with this delay. */
  retryDelayMs?: number;
}

const r = <C extends StatusName>(code: C, when: string, retryDelayMs?: number) => ({ code, when, retryDelayMs }) as const;

export const REASONS = {
  // INVALID_ARGUMENT: BadRequest names the field; metadata `field` too.
  INVALID_ARGUMENT: r('INVALID_ARGUMENT', 'A request field is missing or malformed; BadRequest and metadata `field` name it.'),
  // NOT_FOUND
  TENANT_NOT_FOUND: r('NOT_FOUND', 'The tenant_id is not registered. Metadata: tenantId.'),
  ORDER_NOT_FOUND: r('NOT_FOUND', 'No order of this tenant has that pay_no / out_order_no.'),
  REFUND_NOT_FOUND: r('NOT_FOUND', 'No refund of this tenant has that out_refund_no.'),
  ATTEMPT_NOT_FOUND: r('NOT_FOUND', 'The attempt_no names no attempt of this order. Metadata: payNo, attemptNo.'),
  EVENT_NOT_FOUND: r('NOT_FOUND', 'No event of this tenant has that event_id.'),
  RECONCILIATION_RUN_NOT_FOUND: r(
    'NOT_FOUND',
    'No reconciliation run of this tenant has that run_id, or the (channel, day) has no finished run yet. Metadata: tenantId, runId or channel and day.',
  ),
  NOT_FOUND: r('NOT_FOUND', 'Fallback: something named in the request does not exist.'),
  // ALREADY_EXISTS
  IDEMPOTENCY_CONFLICT: r(
    'ALREADY_EXISTS',
    'An idempotency key (out_order_no, out_refund_no, the open attempt of a pay way) was used before with other values. Metadata: key, conflictingFields.',
  ),
  // FAILED_PRECONDITION: the request is valid, the order's or the tenant's state refuses it
  ORDER_ALREADY_PAID: r('FAILED_PRECONDITION', 'The order is paid: it cannot be cancelled or prepaid again. Metadata: payNo, status.'),
  ORDER_CLOSED: r('FAILED_PRECONDITION', 'The order is closed: it cannot be prepaid. Metadata: payNo, status.'),
  ORDER_EXPIRED: r('FAILED_PRECONDITION', 'The order passed its expire time: it cannot be prepaid. Metadata: payNo, expireAt.'),
  ORDER_NOT_PAID: r(
    'FAILED_PRECONDITION',
    'The order is not paid (still open, closed or failed): it cannot be refunded. Metadata: payNo, status.',
  ),
  ORDER_STATUS_CONFLICT: r(
    'FAILED_PRECONDITION',
    'The order is in a status that cannot move to the one asked for. Metadata: payNo, status, to.',
  ),
  REFUND_EXCEEDS_REFUNDABLE: r(
    'FAILED_PRECONDITION',
    'The refund amount is more than what is left to refund (0 once fully refunded). Metadata: payNo, status, amount, refundable.',
  ),
  ATTEMPT_NOT_PAID: r(
    'FAILED_PRECONDITION',
    'The attempt named by attempt_no was not paid: it cannot be refunded. Metadata: payNo, attemptNo, status.',
  ),
  REFUND_NOT_SUPPORTED: r('FAILED_PRECONDITION', 'The pay way that paid the order cannot refund. Metadata: payNo, payWay.'),
  PAY_ATTEMPT_LIMIT: r(
    'FAILED_PRECONDITION',
    'The order FAILED and MAX_PAY_ATTEMPTS of its attempts failed: it cannot be prepaid again. Metadata: payNo, status, limit, failedAttempts.',
  ),
  PAY_WAY_SWITCH_LIMIT: r('FAILED_PRECONDITION', 'The order switched pay way the maximum number of times. Metadata: payNo, limit.'),
  PAY_WAY_DISABLED: r(
    'FAILED_PRECONDITION',
    'The pay way is not enabled for the tenant (or the mock channel is off for it). Metadata: payWay, tenantId.',
  ),
  PAY_WAY_NOT_DEPLOYED: r('FAILED_PRECONDITION', 'This deployment has no handler for the pay way. Metadata: payWay.'),
  CHANNEL_ACCOUNT_MISSING: r('FAILED_PRECONDITION', "The tenant has no account on the pay way's channel. Metadata: tenantId, channel."),
  CHANNEL_REFUSED: r('FAILED_PRECONDITION', 'The channel answered the prepay with a refusal. Metadata: payNo, payWay.'),
  PAY_WAY_VERSION_CONFLICT: r(
    'FAILED_PRECONDITION',
    "UpdatePayWay's expected_version is not the pay way's version: another change came first. Read it again (ListPayWays), then decide. Metadata: tenantId, payWay, version.",
  ),
  FAILED_PRECONDITION: r('FAILED_PRECONDITION', 'Fallback: the state of the order or the tenant refuses the request.'),
  // ABORTED: a concurrent change won; retry the same request
  CONCURRENT_UPDATE: r(
    'ABORTED',
    'A concurrent change of the same order (or event) won; retry the same request. Metadata: payNo or eventId.',
    100,
  ),
  // UNAVAILABLE: retry the same request, with the same idempotency key
  CHANNEL_UNAVAILABLE: r(
    'UNAVAILABLE',
    'The channel did not answer or gave no definite answer; nothing changed locally. Metadata: payNo, payWay.',
    500,
  ),
  DATABASE_BUSY: r(
    'UNAVAILABLE',
    'The database was busy (lock wait, deadlock, lost connection); retry with the same idempotency key.',
    200,
  ),
  SHUTTING_DOWN: r('UNAVAILABLE', 'This instance is stopping; retry (another instance answers).', 100),
  UNAVAILABLE: r('UNAVAILABLE', 'Fallback: the service cannot answer now; retry.', 500),
  // the rest
  DEADLINE_EXCEEDED: r('DEADLINE_EXCEEDED', "The caller's deadline passed before the answer; query before retrying a mutation."),
  INTERNAL: r('INTERNAL', 'An unexpected fault (logged with its stack); the request may be retried with the same idempotency key.'),
  UNAUTHENTICATED: r('UNAUTHENTICATED', 'Fallback: the call carries no valid credentials.'),
  PERMISSION_DENIED: r('PERMISSION_DENIED', 'Fallback: the credentials do not allow this call.'),
  RESOURCE_EXHAUSTED: r('RESOURCE_EXHAUSTED', 'Fallback: a limit was reached; retry later.'),
} as const satisfies Record<string, ReasonSpec>;

export type Reason = keyof typeof REASONS;

/** The reasons that come with gRPC code `C`. */
export type ReasonOf<C extends StatusName> = { [R in Reason]: (typeof REASONS)[R]['code'] extends C ? R : never }[Reason];

/** The reason for an error of code `code` that names none (one per code, so the table is exhaustive). */
export const FALLBACK_REASONS: { readonly [C in StatusName]: ReasonOf<C> } = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'IDEMPOTENCY_CONFLICT',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  ABORTED: 'CONCURRENT_UPDATE',
  UNAVAILABLE: 'UNAVAILABLE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  INTERNAL: 'INTERNAL',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
};

/** Facts about one occurrence, sent as ErrorInfo.metadata: lowerCamelCase keys (AIP-193), string values. */
export type ErrorMetadata = Readonly<Record<string, string>>;
