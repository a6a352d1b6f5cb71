import type { Metadata } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { CallerConfig } from '../config';
import { PermissionDeniedError, UnauthenticatedError } from '../domain/errors';

/** `view` is the console's read-only grant (src/console); no RPC needs it, so it opens no RPC. */
export type Permission = 'pay' | 'operate' | 'view';

/**
 * What each PaymentService RPC needs, keyed by its proto name. A method missing here is denied to every caller
 * (test/component/authz.test.ts checks this table covers the whole service definition).
 */
export const METHOD_PERMISSIONS: Readonly<Record<string, Permission>> = {
  CreateOrder: 'pay',
  Prepay: 'pay',
  Query: 'pay',
  Cancel: 'pay',
  Refund: 'pay',
  QueryRefund: 'pay',
  WatchOrder: 'pay',
  ListPayWays: 'pay',
  ListOrders: 'operate',
  GetStatistics: 'operate',
  ListNotifies: 'operate',
  ListEvents: 'operate',
  ListRefunds: 'operate',
  ReplayEvent: 'operate',
  UpdatePayWay: 'operate',
  ListReconciliationRuns: 'operate',
  ListReconciliationDifferences: 'operate',
  StartReconciliation: 'operate',
};

/** An authenticated caller: its name is the actor on every log line and audit row of its calls. */
export interface Caller {
  name: string;
  tenants: '*' | ReadonlySet<string>;
  permissions: ReadonlySet<Permission>;
}

/** What a call offers to identify its caller (a grpc-js server call has both). */
export interface CallerPeer {
  metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

interface Known extends Caller {
  tokenSha256?: Buffer;
  certificate?: CallerConfig['certificate'];
}

/** With PAYSVC_AUTH_DISABLED: every call is this caller. */
const ANONYMOUS: Caller = { name: 'anonymous', tenants: '*', permissions: new Set(['pay', 'operate']) };
const BEARER = /^Bearer ([\x21-\x7e]{16,512})$/i;
const REFUSED = 'missing or invalid credentials';

/**
 * Who is calling, and may they. A bearer token is stored only as its SHA-256: tokens are 256 random bits, so
 * a fast hash is enough (there is nothing to brute-force; slow KDFs are for guessable passwords) and a leaked
 * callers file does not leak credentials. Hashes are compared with timingSafeEqual, against every caller.
 */
export class CallerAuth {
  /**
   * Tokens already verified, so a caller's calls after its first skip the hash and the comparisons. Only a
   * token that matched is kept, and each caller has one, so this holds at most one entry per configured caller;
   * callers are fixed for the life of the process, so an entry never goes stale.
   */
  private readonly verified = new Map<string, Known>();

  private constructor(
    private readonly callers: readonly Known[],
    readonly disabled: boolean,
  ) {}

  static fromConfig(callers: readonly CallerConfig[], disabled = false): CallerAuth {
    return new CallerAuth(
      callers.map((c) => ({
        name: c.name,
        tenants: c.tenants === '*' ? '*' : new Set(c.tenants),
        permissions: new Set(c.permissions),
        tokenSha256: c.tokenSha256 ? Buffer.from(c.tokenSha256, 'hex') : undefined,
        certificate: c.certificate,
      })),
      disabled,
    );
  }

  get size(): number {
    return this.callers.length;
  }

  /**
   * The caller a bearer token names (a caller that also has a certificate identity must present that too), or
   * without a token, the caller whose certificate identity the mTLS peer certificate matches.
   */
  authenticate(call: CallerPeer): Caller {
    if (this.disabled) return ANONYMOUS;
    const sent = call.metadata.get('authorization');
    if (sent.length > 1) throw new UnauthenticatedError(REFUSED);
    if (sent.length === 1) {
      const token = BEARER.exec(String(sent[0]))?.[1];
      const caller = token ? (this.verified.get(token) ?? this.byToken(token)) : undefined;
      if (!caller) throw new UnauthenticatedError(REFUSED);
      if (caller.certificate) {
        const cert = peerCertificate(call);
        if (!(cert && matches(caller.certificate, cert))) throw new UnauthenticatedError(REFUSED);
      }
      return caller;
    }
    const cert = peerCertificate(call);
    // Exactly one: a certificate that two callers' identities describe names neither (never the first listed).
    const found = cert ? this.callers.filter((c) => !c.tokenSha256 && c.certificate && matches(c.certificate, cert)) : [];
    if (found.length !== 1) throw new UnauthenticatedError(REFUSED);
    return found[0];
  }

  private byToken(token: string): Known | undefined {
    const hash = createHash('sha256').update(token).digest();
    let found: Known | undefined;
    // Every caller is compared, so the time taken does not say how far down the list a token matched.
    for (const c of this.callers) {
      if (c.tokenSha256 && timingSafeEqual(hash, c.tokenSha256) && !found) found = c;
    }
    if (found) this.verified.set(token, found);
    return found;
  }
}

/** PERMISSION_DENIED unless the caller's grant covers the method and the tenant. */
export function authorize(caller: Caller, method: string, tenantId: string): void {
  const needs = METHOD_PERMISSIONS[method];
  if (!needs || !caller.permissions.has(needs)) {
    throw new PermissionDeniedError(`caller ${caller.name} may not call ${method}${needs ? ` (needs permission ${needs})` : ''}`);
  }
  if (caller.tenants !== '*' && !caller.tenants.has(tenantId)) {
    throw new PermissionDeniedError(`caller ${caller.name} may not act for tenant ${JSON.stringify(tenantId.slice(0, 64))}`);
  }
}

/** The tenant a request acts for: `tenant_id`, or `order.tenant_id`. */
export function tenantOf(request: unknown): string {
  const r = request as { tenantId?: unknown; order?: { tenantId?: unknown } } | undefined;
  const t = r?.tenantId ?? r?.order?.tenantId;
  return typeof t === 'string' ? t : '';
}

function peerCertificate(call: CallerPeer): PeerCertificate | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  return cert && cert.fingerprint256 ? cert : undefined;
}

function matches(want: NonNullable<CallerConfig['certificate']>, cert: PeerCertificate): boolean {
  if (want.cn !== undefined && cert.subject?.CN !== want.cn) return false;
  if (want.san !== undefined && !(cert.subjectaltname ?? '').split(', ').includes(want.san)) return false;
  if (want.sha256 !== undefined && cert.fingerprint256 !== want.sha256) return false;
  return true;
}
