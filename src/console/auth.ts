import { Metadata } from '@grpc/grpc-js';
import type { NextFunction, Request, Response } from 'express';
import type { CallerConfig } from '../config';
import { PermissionDeniedError, UnauthenticatedError } from '../domain/errors';
import type { Caller, CallerAuth } from '../grpc/auth';
import { SESSION_COOKIE, SessionRevocations, SessionSigner, cookieValue, type Session } from './session';

/** What a caller token can look like: the gRPC API's bearer rule (printable ASCII, 16-512 characters). */
const TOKEN_SHAPE = /^[\x21-\x7e]{16,512}$/;

/** Who may use the console: the gRPC API's callers (src/grpc/auth.ts), signed in with their token. */
export class ConsoleAuth {
  private readonly byName: ReadonlyMap<string, CallerConfig>;

  constructor(
    private readonly auth: CallerAuth,
    callers: readonly CallerConfig[],
    readonly signer: SessionSigner,
    private readonly revocations: SessionRevocations,
  ) {
    // Never open without the token check (config.ts refuses the combination; this is the last line).
    if (auth.disabled) throw new Error('the console cannot run while caller authentication is disabled');
    this.byName = new Map(callers.map((c) => [c.name, c]));
  }

  /**
   * The caller a token names, through the gRPC API's own check (a caller bound to a client certificate cannot
   * sign in here: a browser presents none). It must have the view or operate permission.
   */
  signIn(token: string, now: Date): { cookie: string; session: Session; caller: Caller } {
    // A token's shape first: Metadata.set throws on other characters, and its error would carry the token to the log.
    if (!TOKEN_SHAPE.test(token)) throw new UnauthenticatedError('missing or invalid credentials');
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const caller = this.auth.authenticate({ metadata, getAuthContext: () => null });
    if (!mayView(caller))
      throw new PermissionDeniedError(`caller ${caller.name} may not use the console (needs permission view or operate)`);
    return { ...this.signer.open(caller.name, this.byName.get(caller.name)?.tokenSha256, now), caller };
  }

  /**
   * The session's caller as configured now: a removed caller, a rotated token or a lost grant ends the session,
   * and so does signing out (the session id is revoked).
   */
  async resolve(req: Request, now: Date): Promise<{ session: Session; caller: Caller } | undefined> {
    const session = this.signer.verify(cookieValue(req.headers.cookie, SESSION_COOKIE), now);
    if (!session) return undefined;
    const caller = this.callerNamed(session.caller);
    if (!caller || !mayView(caller)) return undefined;
    if (session.grant !== this.signer.grantOf(this.byName.get(caller.name)?.tokenSha256)) return undefined;
    if (await this.revocations.isRevoked(session)) return undefined;
    return { session, caller };
  }

  /** Sign-out: the session ends for every copy of its cookie. */
  signOut(session: Session, now: Date): Promise<void> {
    return this.revocations.revoke(session, now);
  }

  private callerNamed(name: string): Caller | undefined {
    const c = this.byName.get(name);
    if (!c?.tokenSha256) return undefined;
    return { name: c.name, tenants: c.tenants === '*' ? '*' : new Set(c.tenants), permissions: new Set(c.permissions) };
  }
}

export const mayView = (c: Caller): boolean => c.permissions.has('view') || c.permissions.has('operate');
export const mayAct = (c: Caller): boolean => c.permissions.has('operate');

/** PERMISSION_DENIED unless the caller's grant covers the tenant: the gRPC API's rule. */
export function requireTenantScope(caller: Caller, tenantId: string): void {
  if (caller.tenants !== '*' && !caller.tenants.has(tenantId)) {
    throw new PermissionDeniedError(`caller ${caller.name} may not act for tenant ${JSON.stringify(tenantId.slice(0, 64))}`);
  }
}

/** Set-Cookie for the session: HttpOnly, SameSite=Strict, only under /console, Secure when CONSOLE_COOKIE_SECURE. */
export function sessionCookie(value: string, maxAgeMs: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/console',
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** A POST from another origin is refused whatever it carries (CSRF's first line; the token is the second). */
export function sameOrigin(req: Request, res: Response, next: NextFunction): void {
  const origin = req.get('origin');
  if (origin !== undefined && origin !== 'null') {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.get('host')) return next(new PermissionDeniedError('cross-origin request refused'));
  } else if (origin === 'null') return next(new PermissionDeniedError('cross-origin request refused'));
  next();
}

export { UnauthenticatedError };
