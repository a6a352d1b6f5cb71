import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * HTTP basic auth for one user. Both sides are hashed before the constant-time compare, so neither the
 * credentials nor their length leak through timing. Anything else gets 401 with a challenge.
 */
export function basicAuth(user: string, password: string, realm: string): RequestHandler {
  const expected = sha256(`${user}:${password}`);
  return (req, res, next) => {
    const given = credentials(req.headers.authorization);
    if (given !== undefined && timingSafeEqual(sha256(given), expected)) return next();
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .set('Cache-Control', 'no-store')
      .json({ code: 'UNAUTHENTICATED', message: 'valid credentials required' });
  };
}

/** `user:password` from an `Authorization: Basic …` header, or undefined. */
function credentials(header: string | undefined): string | undefined {
  const m = header?.match(/^Basic +([A-Za-z0-9+/]+=*) *$/i);
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : undefined;
}
