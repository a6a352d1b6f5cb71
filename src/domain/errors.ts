import type { ErrorMetadata, Reason, ReasonOf, StatusName } from './reasons';

/**
 * The domain's named errors. Each names its reason (src/domain/reasons.ts: the stable code a program acts on)
 * and the facts a caller needs (metadata); src/grpc/errors.ts turns them into a gRPC status with google.rpc
 * details. An error that names no reason gets its class's fallback; anything that is no DomainError is INTERNAL
 * with a fixed message.
 */
export interface ErrorDetails<C extends StatusName> {
  reason?: ReasonOf<C>;
  metadata?: ErrorMetadata;
}

export abstract class DomainError<C extends StatusName = StatusName> extends Error {
  readonly reason?: Reason;
  readonly metadata: ErrorMetadata;

  constructor(message: string, details: ErrorDetails<C> = {}) {
    super(message);
    this.name = new.target.name;
    this.reason = details.reason;
    this.metadata = details.metadata ?? {};
  }
}

/** Bad input; `field` names the offending request field (its proto path). */
export class InvalidArgumentError extends DomainError<'INVALID_ARGUMENT'> {
  constructor(
    readonly field: string,
    /** What is wrong with the field, without its name (BadRequest's description). */
    readonly description: string,
  ) {
    super(`${field}: ${description}`, { reason: 'INVALID_ARGUMENT', metadata: { field } });
  }
}

export class NotFoundError extends DomainError<'NOT_FOUND'> {}

/** A replay under an idempotency key whose binding fields differ from the first request. */
export class ConflictingReplayError extends DomainError<'ALREADY_EXISTS'> {
  constructor(
    readonly key: string,
    readonly fields: readonly string[],
    metadata: ErrorMetadata = {},
  ) {
    super(`${key} was already used with different ${fields.join(', ')}`, {
      reason: 'IDEMPOTENCY_CONFLICT',
      metadata: { key, conflictingFields: fields.join(','), ...metadata },
    });
  }
}

/** The request is valid but the order's (or the tenant's) state does not allow it. */
export class FailedPreconditionError extends DomainError<'FAILED_PRECONDITION'> {}

/** The channel could not be reached or did not give a definite answer. */
export class ChannelUnavailableError extends DomainError<'UNAVAILABLE'> {
  constructor(message: string, metadata: ErrorMetadata = {}) {
    super(message, { reason: 'CHANNEL_UNAVAILABLE', metadata });
  }
}

/** A concurrent writer won a compare-and-set; the caller may retry. */
export class ConcurrencyError extends DomainError<'ABORTED'> {
  constructor(message: string, metadata: ErrorMetadata = {}) {
    super(message, { reason: 'CONCURRENT_UPDATE', metadata });
  }
}

/** The instance is stopping; the caller should retry on another. */
export class ShuttingDownError extends DomainError<'UNAVAILABLE'> {
  constructor(message: string) {
    super(message, { reason: 'SHUTTING_DOWN' });
  }
}

/** No credential, or one that names no caller. The message never says which. */
export class UnauthenticatedError extends DomainError<'UNAUTHENTICATED'> {}

/** A known caller asked for a tenant or a method outside its grant. */
export class PermissionDeniedError extends DomainError<'PERMISSION_DENIED'> {}
