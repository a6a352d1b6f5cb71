import { createServer, type IncomingMessage, type Server } from 'node:http';

/** What one channel's notify answers may be (by the notify path's channel segment): its acknowledgement, or the refusal that makes it retry. */
const DIALECT: Record<string, { ack: (status: number, body: string) => boolean; retry: (status: number, body: string) => boolean }> = {
  mock: {
    ack: (s, b) => s === 200 && jsonCode(b) === 'SUCCESS',
    retry: (s, b) => s !== 200 && jsonCode(b) === 'FAIL',
  },
  alipay: { ack: (s, b) => s === 200 && b === 'success', retry: (s, b) => s !== 200 && b === 'fail' },
  wx: {
    ack: (s) => s === 200 || s === 204,
    retry: (s, b) => s >= 400 && jsonCode(b) === 'FAIL',
  },
};

function jsonCode(body: string): unknown {
  try {
    return (JSON.parse(body) as { code?: unknown }).code;
  } catch {
    return undefined;
  }
}

export interface NotifyTally {
  /** Answers per channel and kind: ack, retry (a refusal in the channel's dialect), foreign (neither). */
  answers: Record<string, { ack: number; retry: number; foreign: number }>;
  /** Deliveries no instance took (all down or unreachable): the proxy answered 502, the channel retries. */
  unreachable: number;
  /** A few foreign answers, for the report. */
  foreignSamples: string[];
}

/**
 * The load balancer in front of the instances' notify sidecars, as the channels reach them in production: each
 * notify goes to the next instance that is up (another one if it cannot connect). It records every answer, so the
 * run can check that each was in the channel's dialect.
 */
export async function startNotifyProxy(ports: () => number[]): Promise<{ url: string; tally: NotifyTally; close(): Promise<void> }> {
  const tally: NotifyTally = { answers: {}, unreachable: 0, foreignSamples: [] };
  let next = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const channel = (req.url ?? '').split('/')[2] ?? '?';
      const candidates = ports();
      for (let i = 0; i < candidates.length; i++) {
        const port = candidates[(next + i) % candidates.length];
        let answer: Response;
        try {
          answer = await fetch(`http://127.0.0.1:${port}${req.url}`, {
            method: req.method,
            headers: forwardable(req),
            body: new Uint8Array(body),
            signal: AbortSignal.timeout(6000),
          });
        } catch {
          continue; // down or hung: the next one
        }
        next = (next + i + 1) % Math.max(1, candidates.length);
        const text = await answer.text();
        const kinds = (tally.answers[channel] ??= { ack: 0, retry: 0, foreign: 0 });
        const dialect = DIALECT[channel];
        if (dialect?.ack(answer.status, text)) kinds.ack += 1;
        else if (dialect?.retry(answer.status, text)) kinds.retry += 1;
        else {
          kinds.foreign += 1;
          if (tally.foreignSamples.length < 5) tally.foreignSamples.push(`${channel} ${answer.status} ${text.slice(0, 120)}`);
        }
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        res.end(text);
        return;
      }
      tally.unreachable += 1;
      res.writeHead(502).end('no instance');
    })().catch(() => res.writeHead(502).end('proxy error'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    tally,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function forwardable(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || ['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
