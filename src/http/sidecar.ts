import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import type { Server } from 'node:http';
import type { Deps } from '../app/deps';
import { handleNotify } from '../app/handle-notify';
import type { ChannelName } from '../channels/types';
import { TENANT_ID, TERMINAL_TYPE } from '../domain/identifiers';
import { QUEUE_BOARD_PATH } from './queue-board';

/** URL segment → channel. The paths are the ones the seeds give: /notify/alipay/…, /notify/wx/…. */
const CHANNEL_PATHS: Readonly<Record<string, ChannelName>> = { alipay: 'alipay', wx: 'wechat', mock: 'mock' };
const channelAt = (segment: string): ChannelName | undefined =>
  Object.hasOwn(CHANNEL_PATHS, segment) ? CHANNEL_PATHS[segment] : undefined;
/** The body each channel sends its notifies as; anything else is refused before it is read. */
const CONTENT_TYPES: Readonly<Record<ChannelName, string>> = {
  alipay: 'application/x-www-form-urlencoded',
  wechat: 'application/json',
  mock: 'application/json',
};
/**
 * The largest notify body each channel sends, with room to spare (an Alipay notify with fund and voucher lists is
 * a few KB; a WeChat Pay event about 1 KB; the mock's a few hundred bytes). Larger ones get 413 unread.
 */
const MAX_NOTIFY_BYTES: Readonly<Record<ChannelName, number>> = {
  alipay: 32 * 1024,
  wechat: 32 * 1024,
  mock: 16 * 1024,
};
/** The raw bytes are what the signature covers: one raw parser per channel, with that channel's limit. */
const RAW_BODY = Object.fromEntries(
  Object.entries(MAX_NOTIFY_BYTES).map(([channel, limit]) => [channel, express.raw({ type: () => true, limit })]),
) as Readonly<Record<string, express.RequestHandler>>;

/** What the sidecar mounts besides its own routes: the operators' queue board, when configured. */
export interface SidecarOptions {
  board?: Router;
}

/**
 * The HTTP sidecar: channel notifies (raw body kept for signature checks, size bounded), health, metrics and
 * (when configured) the queue board. Routes stay thin; the notify pipeline lives in src/app/handle-notify.ts.
 */
export function createSidecar(deps: Deps, opts: SidecarOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (opts.board) app.use(QUEUE_BOARD_PATH, opts.board);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/readyz', async (_req, res) => {
    const [db, redis] = await Promise.all([
      deps.db.$queryRaw`SELECT 1`.then(() => 'ok', (e: Error) => e.message),
      deps.redis.ping().then(() => 'ok', (e: Error) => e.message),
    ]);
    res.status(db === 'ok' && redis === 'ok' ? 200 : 503).json({ mysql: db, redis });
  });

  app.post(
    '/notify/:channel/:tenantId/:terminalType',
    (req: Request<{ channel: string }>, res: Response, next: NextFunction) => {
      const channel = channelAt(req.params.channel);
      if (!channel) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such channel' });
      RAW_BODY[channel](req, res, next);
    },
    async (req: Request<{ channel: string; tenantId: string; terminalType: string }>, res: Response) => {
      const channel = channelAt(req.params.channel);
      const handler = channel && deps.channels.forChannel(channel);
      if (!handler) return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such channel' });
      // The same rules as tenant_id over gRPC: a URL this service never hands out names nothing here.
      if (!TENANT_ID.test(req.params.tenantId) || !TERMINAL_TYPE.test(req.params.terminalType)) {
        return void res.status(404).json({ code: 'NOT_FOUND', message: 'no such tenant or terminal type' });
      }
      if (!req.is(CONTENT_TYPES[channel])) {
        return void res.status(415).json({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `expected ${CONTENT_TYPES[channel]}` });
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
        res.status(ack.status).type(ack.contentType).send(ack.body);
      } catch (err) {
        deps.log.error({ err, channel, tenantId: req.params.tenantId }, 'notify processing failed');
        const ack = handler.ackNotify(false, 'temporary failure, retry later');
        res.status(500).type(ack.contentType).send(ack.body);
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
