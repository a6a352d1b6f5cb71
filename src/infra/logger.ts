import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs; secrets and key material are redacted wherever they might appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'paysvc' },
    redact: {
      paths: ['*.secret', '*.privateKey', '*.apiV3Key', '*.password', 'headers.authorization', '*.sign', '*.signature'],
      censor: '[redacted]',
    },
  });
}
