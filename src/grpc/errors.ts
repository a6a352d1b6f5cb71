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
import { ERROR_DOMAIN, FALLBACK_REASONS, REASONS, type ErrorMetadata, type Reason, type StatusName } from '../domain/reasons';
import { Any } from '../gen/google/protobuf/any';
import { BadRequest, ErrorInfo, RetryInfo } from '../gen/google/rpc/error_details';
import { Status } from '../gen/google/rpc/status';

/**
 * Domain error classes to gRPC codes, for errors that name no reason (a reason brings its own code): such an
 * error gets the fallback reason of its class's code (FALLBACK_REASONS). Add a class here with its code.
 */
const CODES: ReadonlyArray<[abstract new (...args: never[]) => DomainError, status]> = [
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

/** The reason of a domain error: its own, else its class's fallback; INTERNAL for a class missing from CODES. */
function reasonOf(err: DomainError): Reason {
  if (err.reason) return err.reason;
  const code = CODES.find(([type]) => err instanceof type)?.[1];
  const name = code === undefined ? undefined : (status[code] as StatusName);
  return (name && FALLBACK_REASONS[name]) || 'INTERNAL';
}

/** `instanceof DomainError`, typed: instanceof alone narrows `unknown` to DomainError<any>. */
const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;

export const INTERNAL_MESSAGE = 'internal error; the request may be retried with the same idempotency key';

export interface MappedError {
  error: Partial<ServiceError>;
  /** The ErrorInfo reason sent, for the log line. */
  reason: Reason;
  /** False for errors the caller caused; true for faults that must be logged with their stack. */
  unexpected: boolean;
}

/** What a failed call tells its caller, before it becomes a gRPC status. */
export interface Failure {
  reason: Reason;
  message: string;
  metadata?: ErrorMetadata;
  /** BadRequest's field violations: [field path, what is wrong]. */
  violations?: ReadonlyArray<readonly [string, string]>;
}

/**
 * Turns anything thrown by a use case into a status for the caller (AIP-193): the code of its reason, its
 * message, and google.rpc.Status in `grpc-status-details-bin` with ErrorInfo (reason, domain payment.v1,
 * metadata), BadRequest for invalid arguments and RetryInfo for the reasons a retry may cure. Anything that is
 * no domain error becomes INTERNAL with a fixed message, never a stack. The `field` and `conflicting-fields`
 * trailers of earlier versions are still sent, for callers that have not moved to ErrorInfo yet.
 */
export function toServiceError(err: unknown, deadlineExceeded: boolean): MappedError {
  if (!isDomainError(err)) {
    if (deadlineExceeded) return mapped({ reason: 'DEADLINE_EXCEEDED', message: 'deadline exceeded' }, false);
    if (isTransientDbError(err))
      return mapped({ reason: 'DATABASE_BUSY', message: 'the database is busy; retry with the same idempotency key' }, true);
    return mapped({ reason: 'INTERNAL', message: INTERNAL_MESSAGE }, true);
  }
  const reason = reasonOf(err);
  const error = failure({
    reason,
    message: err.message,
    metadata: err.metadata,
    violations: err instanceof InvalidArgumentError ? [[err.field, err.description]] : undefined,
  });
  // the trailers of earlier versions, until callers have moved to ErrorInfo
  if (err instanceof InvalidArgumentError) error.metadata.set('field', err.field);
  if (err instanceof ConflictingReplayError) error.metadata.set('conflicting-fields', err.fields.join(','));
  return { error, reason, unexpected: reason === 'INTERNAL' };
}

const mapped = (f: Failure, unexpected: boolean): MappedError => ({ error: failure(f), reason: f.reason, unexpected });

/** A gRPC status for `f`, with its google.rpc.Status details in the `grpc-status-details-bin` trailer. */
export function failure(f: Failure): Partial<ServiceError> & { code: status; metadata: Metadata } {
  const code = status[REASONS[f.reason].code];
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(Status.encode(statusDetails(code, f)).finish()));
  return { code, details: f.message, metadata };
}

function statusDetails(code: status, f: Failure): Status {
  const spec: { retryDelayMs?: number } = REASONS[f.reason];
  const details: Any[] = [
    pack('google.rpc.ErrorInfo', ErrorInfo.encode({ reason: f.reason, domain: ERROR_DOMAIN, metadata: { ...f.metadata } }).finish()),
  ];
  if (f.violations?.length) {
    const fieldViolations = f.violations.map(([field, description]) => ({ field, description, reason: '' }));
    details.push(pack('google.rpc.BadRequest', BadRequest.encode({ fieldViolations }).finish()));
  }
  if (spec.retryDelayMs !== undefined) {
    const ms = spec.retryDelayMs;
    const retryDelay = { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
    details.push(pack('google.rpc.RetryInfo', RetryInfo.encode({ retryDelay }).finish()));
  }
  return { code, message: f.message, details };
}

const pack = (typeName: string, value: Uint8Array): Any => ({ typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) });
