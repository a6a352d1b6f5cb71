import express, { type ErrorRequestHandler, type Router } from 'express';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import typeis from 'type-is';
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
export function createSidecar(deps: Deps, opts: SidecarOptions = {}): RequestListener {
  const app = express();
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

  const onError: ErrorRequestHandler = (err: HttpError, _req, res, _next) => {
    const { status, body } = errorAnswer(deps, err);
    res.status(status).json(body);
  };
  app.use(onError);
  const notify = notifyEndpoint(deps);
  return (req, res) => {
    if (!notify(req, res)) void app(req, res);
  };
}

/** What body-parser, the router and our handlers throw: an HTTP status for the client's mistakes. */
type HttpError = { status?: number; type?: string };

function errorAnswer(deps: Deps, err: HttpError): { status: number; body: { code: string; message: string } } {
  const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
  if (status === 500) deps.log.error({ err }, 'sidecar error');
  return { status, body: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: err.type ?? 'error' } };
}

/** `/notify/:channel/:tenantId/:terminalType` as Express 5 matched it: any case, an optional trailing slash. */
const NOTIFY_PATH = /^\/notify\/([^/]+)\/([^/]+)\/([^/]+)\/?$/i;

/**
 * The channels' notifies, served on Node's request and response without Express: the router, Express's request
 * and response prototypes and its `res.json` were ~30 µs of every notify (perf of the bench's duplicate notify,
 * ~10 % of it). Every answer is the one Express gave (`sidecar-notify-path.test.ts`). Hands back false for a request
 * that is not a notify POST, which Express then serves (a 404 for a notify path of the wrong shape or method).
 */
function notifyEndpoint(deps: Deps): (req: IncomingMessage, res: ServerResponse) => boolean {
  // The raw bytes are what the signature covers: one raw parser per channel, with its module's size limit.
  const rawParsers = new Map(
    deps.channels.modules.map((m) => [m.notify.pathSegment, express.raw({ type: () => true, limit: m.notify.maxBodyBytes })] as const),
  );
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const m = NOTIFY_PATH.exec(query < 0 ? url : url.slice(0, query));
    if (!m) return false;
    let params: NotifyParams;
    try {
      params = { channel: decodeURIComponent(m[1]), tenantId: decodeURIComponent(m[2]), terminalType: decodeURIComponent(m[3]) };
    } catch {
      json(res, 400, { code: 'BAD_REQUEST', message: 'error' }); // as Express's router answered a malformed %-escape
      return true;
    }
    const parse = rawParsers.get(params.channel);
    serveNotify(deps, parse, req, res, params).catch((err: unknown) => {
      const { status, body } = errorAnswer(deps, err as HttpError);
      if (!res.headersSent) json(res, status, body);
      else res.destroy();
    });
    return true;
  };
}

interface NotifyParams {
  channel: string;
  tenantId: string;
  terminalType: string;
}

type RawParser = (req: IncomingMessage, res: ServerResponse, next: (err?: Error) => void) => void;

async function serveNotify(deps: Deps, parse: RawParser | undefined, req: IncomingMessage, res: ServerResponse, params: NotifyParams) {
  const route = deps.channels.notifyRoute(params.channel);
  if (!parse || !route) return json(res, 404, { code: 'NOT_FOUND', message: 'no such channel' });
  const rawBody = await readRawBody(parse, req, res); // a body too large or cut short throws its 4xx
  const { channel: handler, module } = route;
  const channel = module.name;
  const contentType = module.notify.contentType;
  // The same rules as tenant_id over gRPC: a URL this service never hands out names nothing here.
  if (!TENANT_ID.test(params.tenantId) || !TERMINAL_TYPE.test(params.terminalType)) {
    return json(res, 404, { code: 'NOT_FOUND', message: 'no such tenant or terminal type' });
  }
  if (!typeis(req, [contentType])) {
    return json(res, 415, { code: 'UNSUPPORTED_MEDIA_TYPE', message: `expected ${contentType}` });
  }
  try {
    const ack = await handleNotify(deps, handler, {
      tenantId: params.tenantId,
      terminalType: params.terminalType,
      headers: req.headers as Record<string, string | undefined>,
      repeatedHeaders: repeatedHeaders(req.rawHeaders),
      rawBody,
    });
    answer(res, ack);
  } catch (err) {
    deps.log.error({ err, channel, tenantId: params.tenantId }, 'notify processing failed');
    answer(res, { ...handler.ackNotify(false, 'temporary failure, retry later'), status: 500 });
  }
}

/** The body as body-parser's raw parser reads it (its size limit, Content-Encoding, length checks); empty if none. */
function readRawBody(parse: RawParser, req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    parse(req, res, (err) => {
      if (err) return reject(err);
      const body = (req as IncomingMessage & { body?: unknown }).body;
      resolve(Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    });
  });
}

/** What Express's `res.status(status).json(body)` wrote: a JSON answer, written as a notify's is. */
function json(res: ServerResponse, status: number, body: object): void {
  answer(res, { status, contentType: 'application/json', body: JSON.stringify(body) });
}

/**
 * A notify's answer, as `res.status().type().send()` wrote it (UTF-8 named on the type, the length; no body and no
 * body headers with a 204), without Express's per-call header normalising and type lookup (~15 µs of every notify).
 */
function answer(res: ServerResponse, ack: NotifyAck): void {
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

/**
 * The sidecar on host:port; a listen error (the port taken) rejects. A server error after that (an accept that
 * fails for want of file descriptors) goes to `onError`: with no listener, Node would end the process for it.
 */
export function listen(listener: RequestListener, host: string, port: number, onError: (err: Error) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', onError);
      resolve(server);
    });
  });
}
