import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import type { RequestContext } from '../../app/deps';
import type { CallLogFields } from '../../infra/logger';
import { callContext } from '../call-context';
import { CallFailure } from './map-errors';

/** One unary call as the interceptors see it; `ctx` is what the handler gets (auth fills in its actor). */
export interface UnaryCall {
  /** The RPC's name as in the proto (CreateOrder, Prepay…): metrics label, log field and permission key. */
  method: string;
  call: ServerUnaryCall<unknown, unknown>;
  ctx: RequestContext & { expired: () => boolean };
  /** Fields every log line written during the call carries (the handler's Deps log with them: call-deps.ts). */
  logFields: CallLogFields;
}

/**
 * A middleware around a unary call, as in nice-grpc: it may act before and after `next(c)` (the rest of the
 * chain and the handler), change what it returns, or throw. Composed in one list, outermost first.
 */
export type Interceptor = (c: UnaryCall, next: (c: UnaryCall) => Promise<unknown>) => Promise<unknown>;

/**
 * The grpc-js handler for one RPC: runs `handler` inside `interceptors` (outermost first) and answers the call
 * with its result, or with the status that the error-mapping interceptor made of what it threw. The chain is
 * composed once per RPC, not per call: each `next` takes the call, so a call allocates no closures for it.
 */
export function unaryHandler<Req, Res>(
  method: string,
  interceptors: readonly Interceptor[],
  handler: (req: Req, ctx: RequestContext, logFields: CallLogFields) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  const run = interceptors.reduceRight<(c: UnaryCall) => Promise<unknown>>(
    (next, interceptor) => (c) => interceptor(c, next),
    (c) => handler(c.call.request as Req, c.ctx, c.logFields),
  );
  return (call, callback) => {
    const ctx = callContext(call);
    const c: UnaryCall = { method, call, ctx, logFields: { requestId: ctx.requestId } };
    run(c)
      .finally(() => ctx.done())
      .then(
        (res) => callback(null, res as Res),
        (err: unknown) => callback(CallFailure.of(err, ctx.expired()).mapped.error, null),
      );
  };
}
