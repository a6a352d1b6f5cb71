import pino from 'pino';

export type Logger = pino.Logger;

/** Who a call is for, set by the gRPC layer for the whole call: every line logged while it runs carries it. */
export interface CallLogFields {
  requestId?: string;
  actor?: string;
}

/** Where a call's logger keeps its fields: read when a line is written, so what auth learns later is on it too. */
const CALL_FIELDS = Symbol('callLogFields');
type CallLogger = Logger & { [CALL_FIELDS]?: CallLogFields };

/** JSON logs (to stdout unless a destination is given); secrets and key material are redacted wherever they might appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'paysvc' },
      // A line's own fields win over these; outside a call there are none. `logger` is the one the line is
      // written through: a call's logger (or a child of it) carries the call's fields.
      mixin: (_obj, _level, logger) => ({ ...(logger as CallLogger)[CALL_FIELDS] }),
      redact: {
        paths: ['*.secret', '*.privateKey', '*.apiV3Key', '*.password', 'headers.authorization', '*.sign', '*.signature'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * A logger for one call: every line it (or a child of it) writes names the call's request id and caller, as they
 * are when the line is written. Passed down explicitly (the call's Deps) rather than found through
 * AsyncLocalStorage, whose promise hooks on Node 20 tax every promise in the process, in every call.
 */
export function callLogger(log: Logger, fields: CallLogFields): Logger {
  const child = log.child({}) as CallLogger;
  child[CALL_FIELDS] = fields;
  return child;
}
