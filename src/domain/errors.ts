/**
 * The domain's named errors. src/grpc/errors.ts maps each to one gRPC status; anything else is INTERNAL
 * with a fixed message.
 */
export abstract class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input; `field` names the offending request field. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class NotFoundError extends DomainError {}

/** A replay under an idempotency key whose binding fields differ from the first request. */
export class ConflictingReplayError extends DomainError {
  constructor(
    readonly key: string,
    readonly fields: readonly string[],
  ) {
    super(`${key} was already used with different ${fields.join(', ')}`);
  }
}

/** The request is valid but the order's state does not allow it. */
export class FailedPreconditionError extends DomainError {}

/** The channel could not be reached or did not give a definite answer. */
export class ChannelUnavailableError extends DomainError {}

/** A concurrent writer won a compare-and-set; the caller may retry. */
export class ConcurrencyError extends DomainError {}

/** The instance is stopping; the caller should retry on another. */
export class ShuttingDownError extends DomainError {}

/** No credential, or one that names no caller. The message never says which. */
export class UnauthenticatedError extends DomainError {}

/** A known caller asked for a tenant or a method outside its grant. */
export class PermissionDeniedError extends DomainError {}
