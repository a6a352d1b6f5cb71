import { status, type ServiceError } from '@grpc/grpc-js';
import { decodeErrorDetails, type ErrorDetails } from './error-details';

/**
 * A failed PaymentService call: the gRPC code and details, and what the server's google.rpc.Status says a
 * program can act on: `reason` (stable, e.g. ORDER_EXPIRED; see docs/errors.md), `metadata` (e.g. payNo),
 * `fieldViolations` (INVALID_ARGUMENT) and `retryDelayMs` (RetryInfo). Plus the x-request-id to find it in logs.
 * `field` and `conflictingFields` are kept from the trailers of earlier versions; prefer fieldViolations and
 * metadata.conflictingFields.
 */
export class PaymentError extends Error {
  override readonly name = 'PaymentError';

  readonly requestId?: string;
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly fieldViolations: ErrorDetails['fieldViolations'];
  readonly retryDelayMs?: number;
  readonly field?: string;
  readonly conflictingFields: readonly string[];

  constructor(
    readonly code: status,
    readonly details: string,
    more: Partial<ErrorDetails> & { requestId?: string; field?: string; conflictingFields?: readonly string[] } = {},
  ) {
    super(`${status[code] ?? code}: ${details}`);
    this.requestId = more.requestId;
    this.reason = more.reason ?? '';
    this.domain = more.domain ?? '';
    this.metadata = more.metadata ?? {};
    this.fieldViolations = more.fieldViolations ?? [];
    this.retryDelayMs = more.retryDelayMs;
    this.field = more.field ?? this.fieldViolations[0]?.field;
    this.conflictingFields = more.conflictingFields ?? [];
  }

  static from(err: ServiceError, requestId: string): PaymentError {
    const found = decodeErrorDetails(err.metadata);
    const trailer = (key: string) => err.metadata?.get(key)[0]?.toString();
    const conflicting = found.metadata.conflictingFields ?? trailer('conflicting-fields');
    return new PaymentError(err.code, err.details, {
      ...found,
      requestId,
      field: found.fieldViolations[0]?.field ?? trailer('field'),
      conflictingFields: conflicting ? conflicting.split(',') : [],
    });
  }
}
