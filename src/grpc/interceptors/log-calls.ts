import { status } from '@grpc/grpc-js';
import type { Logger } from '../../infra/logger';
import { logSubject } from '../log-subject';
import type { Interceptor, UnaryCall } from './chain';
import { CallFailure } from './map-errors';

/** Calls refused for their caller: logged at info, for whoever watches for probing. */
const refused = (code: status | undefined): boolean => code === status.UNAUTHENTICATED || code === status.PERMISSION_DENIED;

/**
 * One line per call: its name, request id, caller, (when known) tenant and order, code and duration; never a
 * payload or a credential. Faults at error with their stack, refusals at info, the rest at debug.
 */
export const logCalls =
  (deps: { readonly log: Logger }): Interceptor =>
  async (c, next) => {
    const log = deps.log; // read per call: the logger may be replaced while the server runs (tests capture it)
    const started = performance.now();
    try {
      const res = await next(c);
      // Built only when written: most deployments log above debug, and the fields cost more than the check.
      if (log.isLevelEnabled('debug')) log.debug(fieldsOf(c, started, 'OK', res), 'rpc done');
      return res;
    } catch (err) {
      logFailure(log, c, CallFailure.of(err, c.ctx.expired()), (code) => fieldsOf(c, started, code));
      throw err;
    }
  };

/** The call's log line fields (made only when a line is written). */
const fieldsOf = (c: UnaryCall, started: number, code: string, res?: unknown) => ({
  rpc: c.method,
  requestId: c.ctx.requestId,
  actor: c.ctx.actor,
  ...logSubject(c.call.request, res),
  code,
  ms: Math.round(performance.now() - started),
});

function logFailure(log: Logger, c: UnaryCall, f: CallFailure, fields: (code: string) => object): void {
  const { error, reason, unexpected } = f.mapped;
  const line = { ...fields(f.code), reason };
  if (unexpected) log.error({ err: f.cause, ...line }, 'rpc failed');
  else if (refused(error.code)) log.info({ ...line, details: error.details }, 'rpc refused');
  else log.debug({ ...line, details: error.details }, 'rpc done');
}
