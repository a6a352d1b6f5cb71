import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Deps } from '../app/deps';
import { replayAsOperator, syncAsOperator } from '../app/operator-actions';
import type { CallerConfig } from '../config';
import {
  ChannelUnavailableError,
  ConcurrencyError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '../domain/errors';
import { EVENT_ID, SERVICE_NO, TENANT_ID } from '../domain/identifiers';
import { ORDER_STATUSES } from '../domain/order-status';
import { canonicalTimeZone, isTimeZone } from '../domain/time-zones';
import type { CallerAuth } from '../grpc/auth';
import { ConsoleAuth, mayAct, requireTenantScope, sameOrigin, sessionCookie } from './auth';
import { html, type Html } from './html';
import { page, type PageContext } from './layout';
import { deadLettersPage, reconciliationPage, stuckPage } from './pages/operations';
import { ordersPage } from './pages/orders';
import { statsPage } from './pages/stats';
import { storyPage } from './pages/story';
import { SESSION_COOKIE, SessionRevocations, SessionSigner } from './session';

export const CONSOLE_PATH = '/console';

export interface ConsoleOptions {
  auth: CallerAuth;
  callers: readonly CallerConfig[];
  /** CONSOLE_SECRET: signs sessions and CSRF tokens. */
  secret: string;
  sessionTtlMs: number;
  /** CONSOLE_COOKIE_SECURE: the session cookie carries Secure (the sidecar is plain HTTP behind TLS; it cannot tell). */
  cookieSecure: boolean;
  defaultTimeZone: string;
  /** When a PAYING order counts as stuck: the first delay of STATUS_SYNC_DELAYS_MS. */
  syncAfterMs: number;
}

/** Fixed notices an action redirects with (never text from the request). */
const DONE: Record<string, string> = { replayed: 'Event replayed: it is queued for delivery again.', queried: 'The channel was asked.' };

type Ctx = { ctx: PageContext };
const ctxOf = (res: Response): PageContext => (res.locals as Ctx).ctx;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The operator console (issue 18), mounted by the sidecar at /console: server-rendered pages, no script, no
 * asset from elsewhere. Routes stay thin: each page calls the use cases the RPCs call (src/app) and renders.
 */
export function consoleRouter(deps: Deps, opts: ConsoleOptions): Router {
  const auth = new ConsoleAuth(
    opts.auth,
    opts.callers,
    new SessionSigner(opts.secret, opts.sessionTtlMs),
    new SessionRevocations(deps.redis, deps.keyPrefix),
  );
  const router = express.Router();

  router.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy':
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'X-Content-Type-Options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own forms.
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    });
    next();
  });
  router.use(express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 }));

  router.get('/login', async (req, res) => {
    if (await auth.resolve(req, deps.now())) return res.redirect(303, nextPath(req.query.next));
    send(res, 200, loginPage(str(req.query.next)));
  });
  router.post('/login', sameOrigin, (req, res) => {
    const token = str((req.body as Record<string, unknown> | undefined)?.token).trim();
    try {
      const { cookie, caller } = auth.signIn(token, deps.now());
      deps.log.info({ actor: caller.name }, 'console sign-in');
      res.set('Set-Cookie', sessionCookie(cookie, opts.sessionTtlMs, opts.cookieSecure));
      res.redirect(303, nextPath((req.body as Record<string, unknown>).next));
    } catch (err) {
      if (!(err instanceof UnauthenticatedError || err instanceof PermissionDeniedError)) throw err;
      send(res, err instanceof UnauthenticatedError ? 401 : 403, loginPage('', err.message));
    }
  });

  // Everything below needs a session: a page without one goes to the login, an action without one is refused.
  router.use(async (req, res, next) => {
    const who = await auth.resolve(req, deps.now());
    if (!who) {
      if (req.method === 'GET' || req.method === 'HEAD')
        return res.redirect(303, `${CONSOLE_PATH}/login?next=${encodeURIComponent(req.originalUrl)}`);
      return next(new UnauthenticatedError('sign in first'));
    }
    const source = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined) : req.query;
    let tenant = str(source?.tenant);
    if (!tenant && who.caller.tenants !== '*' && who.caller.tenants.size === 1) tenant = [...who.caller.tenants][0];
    if (tenant && !TENANT_ID.test(tenant)) return next(new InvalidArgumentError('tenant', 'is not a tenant id'));
    const tz = str(req.query.tz);
    const ctx: PageContext = {
      caller: who.caller,
      session: who.session,
      csrf: auth.signer.csrfToken(who.session),
      tenant,
      timeZone: tz && tz.length <= 64 && isTimeZone(tz) ? canonicalTimeZone(tz) : opts.defaultTimeZone,
      canAct: mayAct(who.caller),
    };
    (res.locals as Ctx).ctx = ctx;
    if (req.method === 'POST') {
      // CSRF: a synchronizer token tied to this session, checked before anything else an action does.
      if (!auth.signer.checkCsrf(who.session, (req.body as Record<string, unknown> | undefined)?._csrf)) {
        return next(new PermissionDeniedError('missing or wrong CSRF token; reload the page and try again'));
      }
    }
    if (tenant) {
      try {
        requireTenantScope(who.caller, tenant);
      } catch (err) {
        return next(err);
      }
    }
    next();
  });
  router.use(sameOriginForPosts);

  router.post('/logout', async (_req, res) => {
    await auth.signOut(ctxOf(res).session, deps.now());
    res.set('Set-Cookie', sessionCookie('', 0, opts.cookieSecure));
    res.redirect(303, `${CONSOLE_PATH}/login`);
  });

  const get = (path: string, render: (req: Request, ctx: PageContext) => Promise<Html | { redirect: string }>) =>
    router.get(path, async (req, res) => {
      const out = await render(req, ctxOf(res));
      if (out instanceof Object && 'redirect' in out) return res.redirect(303, out.redirect);
      send(res, 200, out);
    });
  const done = (req: Request) =>
    DONE[str(req.query.done)] ??
    (ORDER_STATUSES.includes(str(req.query.done) as never) ? `The channel was asked; the order is ${str(req.query.done)}.` : undefined);

  router.get('/', (_req, res) => res.redirect(303, `${CONSOLE_PATH}/orders`));
  get('/orders', (req, ctx) => ordersPage(deps, ctx, req));
  get('/orders/:payNo', (req, ctx) => storyPage(deps, withTenant(ctx), str(req.params.payNo), done(req)));
  get('/stats', (_req, ctx) => statsPage(deps, ctx));
  get('/dead-letters', (req, ctx) => deadLettersPage(deps, ctx, done(req)));
  get('/stuck', (req, ctx) => stuckPage(deps, ctx, opts.syncAfterMs, done(req)));
  get('/reconciliation', (req, ctx) => reconciliationPage(deps, ctx, req));

  const act = (path: string, run: (req: Request, ctx: PageContext) => Promise<string>) =>
    router.post(path, async (req, res) => {
      const ctx = withTenant(ctxOf(res));
      if (!ctx.canAct) throw new PermissionDeniedError(`caller ${ctx.caller.name} may only view (acting needs permission operate)`);
      res.redirect(303, await run(req, ctx));
    });
  act('/events/:eventId/replay', async (req, ctx) => {
    const eventId = str(req.params.eventId);
    if (!EVENT_ID.test(eventId)) throw new NotFoundError('event not found');
    await replayAsOperator(deps, ctx.tenant, eventId, ctx.caller.name);
    return `${CONSOLE_PATH}/dead-letters?${new URLSearchParams({ tenant: ctx.tenant, tz: ctx.timeZone, done: 'replayed' }).toString()}`;
  });
  act('/orders/:payNo/sync', async (req, ctx) => {
    const payNo = str(req.params.payNo);
    if (!SERVICE_NO.test(payNo)) throw new NotFoundError('order not found');
    const status = await syncAsOperator(deps, ctx.tenant, payNo, ctx.caller.name);
    const back = str((req.body as Record<string, unknown>).back) === 'stuck' ? '/stuck' : `/orders/${encodeURIComponent(payNo)}`;
    return `${CONSOLE_PATH}${back}?${new URLSearchParams({ tenant: ctx.tenant, tz: ctx.timeZone, done: status }).toString()}`;
  });

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const status = httpStatus(err);
    if (status === 500) deps.log.error({ err }, 'console error');
    if (status === 401 && !res.headersSent) return send(res, 401, loginPage('', 'Sign in first.'));
    const message = err instanceof DomainError ? err.message : status === 413 ? 'request too large' : 'internal error';
    const ctx = (res.locals as Partial<Ctx>).ctx;
    send(res, status, page(ctx, `Error ${status}`, html`<p class="msg err" id="error">${message}</p>`));
  };
  router.use(onError);
  return router;
}

/** An action or an order page needs the tenant it acts for. */
function withTenant(ctx: PageContext): PageContext {
  if (!ctx.tenant) throw new InvalidArgumentError('tenant', 'is required');
  return ctx;
}

/** A POST's Origin must be ours (the login checks it too). */
const sameOriginForPosts: RequestHandler = (req, res, next) => (req.method === 'POST' ? sameOrigin(req, res, next) : next());

function httpStatus(err: unknown): number {
  if (err instanceof InvalidArgumentError) return 400;
  if (err instanceof UnauthenticatedError) return 401;
  if (err instanceof PermissionDeniedError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof FailedPreconditionError || err instanceof ConcurrencyError) return 409;
  if (err instanceof ChannelUnavailableError) return 503;
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' && s >= 400 && s < 500 ? s : 500;
}

/** Where a login returns to: a console path only (never another site). */
function nextPath(v: unknown): string {
  const p = str(v);
  return p.startsWith(`${CONSOLE_PATH}/`) && !p.startsWith('//') && !/[\\\r\n]/.test(p) ? p : `${CONSOLE_PATH}/orders`;
}

function send(res: Response, status: number, body: Html): void {
  res.status(status).type('html').send(body.text);
}

function loginPage(next: string, error?: string): Html {
  return page(
    undefined,
    'Sign in',
    html`${error ? html`<p class="msg err" id="error">${error}</p>` : ''}
      <form method="post" action="${CONSOLE_PATH}/login">
        <input type="hidden" name="next" value="${next}" />
        <p>
          <label>Caller token <input type="password" name="token" autocomplete="off" size="60" required /></label>
        </p>
        <p><button>Sign in</button></p>
      </form>
      <p>
        Use your caller token (<code>npm run caller -- new NAME --perm view</code> or <code>--perm operate</code>). The session lasts a
        working day.
      </p>`,
  );
}

export { SESSION_COOKIE };
