import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

export type Logger = pino.Logger;

/** Who a call is for, set by the gRPC layer for the whole call: every line logged while it runs carries it. */
export interface CallLogFields {
  requestId?: string;
  actor?: string;
}
export const callLogFields = new AsyncLocalStorage<CallLogFields>();

/** JSON logs (to stdout unless a destination is given); secrets and key material are redacted wherever they might appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'paysvc' },
      // A line's own fields win over these; outside a call there are none.
      mixin: () => ({ ...callLogFields.getStore() }),
      redact: {
        paths: ['*.secret', '*.privateKey', '*.apiV3Key', '*.password', 'headers.authorization', '*.sign', '*.signature'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
