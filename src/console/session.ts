import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../infra/redis';
import { z } from 'zod';

export const SESSION_COOKIE = 'paysvc_console';

/** What a console session cookie carries: the caller's name, a fingerprint of its token, a session id, expiry. */
export interface Session {
  /** The caller's name (the actor of everything done in the session). */
  caller: string;
  /** HMAC of the caller's token hash: a rotated token ends the sessions the old one opened. */
  grant: string;
  /** Random per login; the CSRF token is derived from it. */
  sid: string;
  /** Expiry, epoch ms. */
  exp: number;
}

const body = z.object({ caller: z.string().min(1).max(128), grant: z.string().max(64), sid: z.string().max(64), exp: z.number().int() });

/**
 * Signs and checks the console's session cookie and CSRF tokens with HMAC-SHA256 under CONSOLE_SECRET. The cookie
 * is `base64url(JSON).base64url(mac)`: readable by whoever holds it (nothing secret in it), forgeable by nobody
 * without the secret. A CSRF token is the MAC of the session id: tied to one login, never stored.
 */
export class SessionSigner {
  constructor(
    private readonly secret: string,
    readonly ttlMs: number,
  ) {}

  private mac(purpose: string, text: string): Buffer {
    return createHmac('sha256', this.secret).update(`${purpose}\n${text}`).digest();
  }

  /** The fingerprint of a caller's grant (its token's SHA-256, hex; '' for a caller without one). */
  grantOf(tokenSha256: string | undefined): string {
    return this.mac('grant', tokenSha256 ?? '')
      .subarray(0, 16)
      .toString('base64url');
  }

  open(caller: string, tokenSha256: string | undefined, now: Date): { cookie: string; session: Session } {
    const session: Session = {
      caller,
      grant: this.grantOf(tokenSha256),
      sid: randomBytes(18).toString('base64url'),
      exp: now.getTime() + this.ttlMs,
    };
    const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
    return { cookie: `${payload}.${this.mac('session', payload).toString('base64url')}`, session };
  }

  /** The session a cookie carries, if its MAC is ours and it has not expired; undefined otherwise. */
  verify(cookie: string | undefined, now: Date): Session | undefined {
    const m = cookie && /^([A-Za-z0-9_-]{1,1024})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
    if (!m) return undefined;
    const given = Buffer.from(m[2], 'base64url');
    if (given.length !== 32 || !timingSafeEqual(given, this.mac('session', m[1]))) return undefined;
    const parsed = body.safeParse(parseJson(Buffer.from(m[1], 'base64url').toString('utf8')));
    if (!parsed.success || parsed.data.exp <= now.getTime()) return undefined;
    return parsed.data;
  }

  csrfToken(session: Session): string {
    return this.mac('csrf', session.sid).toString('base64url');
  }

  /** Whether `token` is this session's CSRF token (constant time). */
  checkCsrf(session: Session, token: unknown): boolean {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
    return timingSafeEqual(Buffer.from(token, 'base64url'), this.mac('csrf', session.sid));
  }
}

/**
 * Sessions ended by sign-out: the cookie itself is stateless, so its session id is kept in Redis (under the
 * service's key prefix) until the cookie would have expired anyway; a copy of the cookie then opens nothing. While
 * Redis is down the check fails and the console answers 500 rather than trusting a session it cannot check.
 */
export class SessionRevocations {
  constructor(
    private readonly redis: RedisClient,
    /** QUEUE_PREFIX. */
    private readonly prefix: string,
  ) {}

  async revoke(session: Session, now: Date): Promise<void> {
    const ttlMs = session.exp - now.getTime();
    if (ttlMs > 0) await this.redis.set(this.key(session.sid), '1', 'PX', ttlMs);
  }

  async isRevoked(session: Session): Promise<boolean> {
    return (await this.redis.exists(this.key(session.sid))) === 1;
  }

  private key(sid: string): string {
    return `${this.prefix}:console-signed-out:${sid}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The value of one cookie from a Cookie header (the first of that name). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
