import { status } from '@grpc/grpc-js';
import { toServiceError, type MappedError } from '../errors';
import type { Interceptor } from './chain';

/** What a call failed with, mapped once to the status its caller gets; `cause` is what was thrown. */
export class CallFailure extends Error {
  constructor(
    readonly mapped: MappedError,
    override readonly cause: unknown,
  ) {
    super(mapped.error.details);
    this.name = 'CallFailure';
  }

  /** The status code's name (OK-style, as metrics and logs label it). */
  get code(): string {
    return status[this.mapped.error.code ?? status.UNKNOWN];
  }

  static of(err: unknown, deadlineExceeded: boolean): CallFailure {
    return err instanceof CallFailure ? err : new CallFailure(toServiceError(err, deadlineExceeded), err);
  }
}

/** The one error door: anything the handler (or auth) throws becomes a CallFailure with its gRPC status. */
export const mapErrors: Interceptor = async (c, next) => {
  try {
    return await next(c);
  } catch (err) {
    throw CallFailure.of(err, c.ctx.expired());
  }
};
