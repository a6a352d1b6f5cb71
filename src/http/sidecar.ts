import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Server } from 'node:http';
import type { Deps } from '../app/deps';
import type { NotifyAck } from '../channels/types';
import { handleNotify } from '../app/handle-notify';
import { TENANT_ID, TERMINAL_TYPE } from '../domain/identifiers';
import { DependencyHealth } from '../infra/health';
import { CONSOLE_PATH } from '../console';
import { QUEUE_BOARD_PATH } from './queue-board';

/** What the sidecar mounts besides its own routes: the operators' queue board, when configured. */
export interface SidecarOptions {
  board?: Router;
  /** The operator console (src/console), mounted at /console when CONSOLE_SECRET is set. */
  console?: Router;
  /** The process's dependency checks (bootstrap's); a sidecar without them checks on its own. */
  health?: DependencyHealth;
}

/**
 * The HTTP sidecar: channel notifies (raw body kept for signature checks, size bounded), health, metrics and
 * (when configured) the queue board. Routes stay thin; the notify pipeline lives in src/app/handle-notify.ts.
 */
export function createSidecar(deps: Deps, opts: SidecarOptions = {}): express.Express {
  const app = express();
  // The raw bytes are what the signature covers: one raw parser per channel, with its module's size limit.
  const rawParsers = new Map(
    deps.channels.modules.map((m) => [m.notify.pathSegment, express.raw({ type: () => true, limit: m.notify.maxBodyBytes })] as const),
  );
  app.disable('x-powered-by');
  // No ETag on any answer: nothing here is cached (a notify's ack, metrics, console pages with CSRF tokens), and
  // Express hashed every body for one (SHA-1, a few µs of every notify).
  app.set('etag', false);
  if (opts.board) app.use(QUEUE_BOARD_PATH, opts.board);
  if (opts.console) app.use(CONSOLE_PATH, opts.console);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // Each dependency gets READY_BUDGET_MS to answer: a database that is gone is a 503 within the probe's timeout.
  const health = opts.health ?? new DependencyHealth(deps.db, deps.redis, deps.log, deps.keyPrefix);
  app.get('/readyz', async (_req, res) => {
    const report = await health.check();
    res.status(report.mysql === 'ok' && report.redis === 'ok' ? 200 : 503).json(report);
  });

  app.post(
    '/notify/:channel/:tenantId/:terminalType',
    (req: Request<{ channel: string }>, res: Response, next: NextFunction) => {
      const parse = rawParsers.get(req.params.channel);
      if (!parse) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such channel' });
      parse(req, res, next);
    },
    async (req: Request<{ channel: string; tenantId: string; terminalType: string }>, res: Response) => {
      const route = deps.channels.notifyRoute(req.params.channel);
      if (!route) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such channel' });
      const { channel: handler, module } = route;
      const channel = module.name;
      const contentType = module.notify.contentType;
      // The same rules as tenant_id over gRPC: a URL this service never hands out names nothing here.
      if (!TENANT_ID.test(req.params.tenantId) || !TERMINAL_TYPE.test(req.params.terminalType)) {
        return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such tenant or terminal type' });
      }
      if (!req.is(contentType)) {
        return void res.status(415).json({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `expected ${contentType}` });
      }
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      try {
        const ack = await handleNotify(deps, handler, {
          tenantId: req.params.tenantId,
          terminalType: req.params.terminalType,
          headers: req.headers as Record<string, string | undefined>,
          repeatedHeaders: repeatedHeaders(req.rawHeaders),
          rawBody,
        });
        answer(res, ack);
      } catch (err) {
        deps.log.error({ err, channel, tenantId: req.params.tenantId }, 'notify processing failed');
        answer(res, { ...handler.ackNotify(false, 'temporary failure, retry later'), status: 500 });
      }
    },
  );

  const onError: ErrorRequestHandler = (err: { status?: number; type?: string }, _req, res, _next) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) deps.log.error({ err }, 'sidecar error');
    res.status(status).json({ code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: err.type ?? 'error' });
  };
  app.use(onError);
  return app;
}

/**
 * A notify's answer, as `res.status().type().send()` wrote it (UTF-8 named on the type, the length; no body and no
 * body headers with a 204), without Express's per-call header normalising and type lookup (~15 µs of every notify).
 */
function answer(res: Response, ack: NotifyAck): void {
  if (ack.status === 204) return void res.writeHead(204).end();
  const body = Buffer.from(ack.body, 'utf8');
  res.writeHead(ack.status, { 'content-type': `${ack.contentType}; charset=utf-8`, 'content-length': body.length }).end(body);
}

/** Names (lower case) of the headers that came more than once: Node joins most repeats with ", " or drops them. */
function repeatedHeaders(rawHeaders: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return [...repeated];
}

/** Express 5 hands a listen error (port taken) to the callback, not to an 'error' event. */
export function listen(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
