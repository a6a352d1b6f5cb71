import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isTransientDbError } from '../repo/tx';
import {
  ChannelUnavailableError,
  ConcurrencyError,
  ConflictingReplayError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ShuttingDownError,
  UnauthenticatedError,
} from '../domain/errors';

/** The one table from domain errors to gRPC status codes. */
const CODES: ReadonlyArray<[new (...args: never[]) => DomainError, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [ConflictingReplayError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [ChannelUnavailableError, status.UNAVAILABLE],
  [ConcurrencyError, status.ABORTED],
  [ShuttingDownError, status.UNAVAILABLE],
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [PermissionDeniedError, status.PERMISSION_DENIED],
];

export const INTERNAL_MESSAGE = 'internal error; the request may be retried with the same idempotency key';

export interface MappedError {
  error: Partial<ServiceError>;
  /** False for errors the caller caused; true for faults that must be logged with their stack. */
  unexpected: boolean;
}

/**
 * Turns anything thrown by a use case into a status for the caller. Domain errors keep their message (and
 * metadata naming the offending field or conflicting fields); anything else becomes INTERNAL with a fixed
 * message, never a stack.
 */
export function toServiceError(err: unknown, deadlineExceeded: boolean): MappedError {
  const entry = err instanceof DomainError ? CODES.find(([type]) => err instanceof type) : undefined;
  if (!entry) {
    if (deadlineExceeded) return { error: { code: status.DEADLINE_EXCEEDED, details: 'deadline exceeded' }, unexpected: false };
    if (isTransientDbError(err)) {
      return { error: { code: status.UNAVAILABLE, details: 'the database is busy; retry with the same idempotency key' }, unexpected: true };
    }
    return { error: { code: status.INTERNAL, details: INTERNAL_MESSAGE }, unexpected: true };
  }
  const metadata = new Metadata();
  if (err instanceof InvalidArgumentError) metadata.set('field', err.field);
  if (err instanceof ConflictingReplayError) metadata.set('conflicting-fields', err.fields.join(','));
  return { error: { code: entry[1], details: (err as Error).message, metadata }, unexpected: false };
}
