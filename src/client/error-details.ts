import type { Metadata } from '@grpc/grpc-js';
import { BadRequest, ErrorInfo, RetryInfo } from '../gen/google/rpc/error_details';
import { Status } from '../gen/google/rpc/status';

/** What a failed call's google.rpc.Status (the `grpc-status-details-bin` trailer) says, decoded. */
export interface ErrorDetails {
  /** ErrorInfo.reason, e.g. ORDER_EXPIRED (docs/errors.md lists paysvc's reasons); '' when the status has none. */
  reason: string;
  /** ErrorInfo.domain: 'payment.v1' for paysvc. */
  domain: string;
  /** ErrorInfo.metadata, e.g. { payNo, status }. */
  metadata: Readonly<Record<string, string>>;
  /** BadRequest's field violations. */
  fieldViolations: ReadonlyArray<{ field: string; description: string }>;
  /** RetryInfo.retry_delay in milliseconds, when the server says a retry makes sense. */
  retryDelayMs?: number;
}

/** Decodes the details a status carries; a status without them (or with bytes that do not decode) has none. */
export function decodeErrorDetails(trailers: Metadata | undefined): ErrorDetails {
  const out: ErrorDetails = { reason: '', domain: '', metadata: {}, fieldViolations: [] };
  const raw = trailers?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return out;
  let status: Status;
  try {
    status = Status.decode(raw);
  } catch {
    return out;
  }
  for (const any of status.details) {
    try {
      switch (any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1)) {
        case 'google.rpc.ErrorInfo': {
          const info = ErrorInfo.decode(any.value);
          Object.assign(out, { reason: info.reason, domain: info.domain, metadata: info.metadata });
          break;
        }
        case 'google.rpc.BadRequest':
          out.fieldViolations = BadRequest.decode(any.value).fieldViolations.map(({ field, description }) => ({ field, description }));
          break;
        case 'google.rpc.RetryInfo': {
          const delay = RetryInfo.decode(any.value).retryDelay;
          if (delay) out.retryDelayMs = Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6);
          break;
        }
      }
    } catch {
      // one detail that does not decode leaves the others readable
    }
  }
  return out;
}
