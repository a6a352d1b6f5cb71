import { status, type ServiceError } from '@grpc/grpc-js';

/**
 * A failed PaymentService call: the gRPC code and details, plus the trailers the server sets to say what to fix
 * (`field` on INVALID_ARGUMENT, `conflicting-fields` on ALREADY_EXISTS) and the x-request-id to find it in logs.
 */
export class PaymentError extends Error {
  override readonly name = 'PaymentError';

  readonly requestId?: string;
  readonly field?: string;
  readonly conflictingFields: readonly string[];

  constructor(
    readonly code: status,
    readonly details: string,
    more: { requestId?: string; field?: string; conflictingFields?: readonly string[] } = {},
  ) {
    super(`${status[code] ?? code}: ${details}`);
    this.requestId = more.requestId;
    this.field = more.field;
    this.conflictingFields = more.conflictingFields ?? [];
  }

  static from(err: ServiceError, requestId: string): PaymentError {
    const trailer = (key: string) => err.metadata?.get(key)[0]?.toString();
    const conflicting = trailer('conflicting-fields');
    return new PaymentError(err.code, err.details, {
      requestId,
      field: trailer('field'),
      conflictingFields: conflicting ? conflicting.split(',') : [],
    });
  }
}
