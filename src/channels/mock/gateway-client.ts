import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { z } from 'zod';
import { buildSignedHeaders, verifySignature } from './signature';
import { errorResponse } from './wire';

export interface MockGatewayClientOptions {
  gatewayUrl: string;
  secret: string;
  timeoutMs: number;
}

/**
 * What one API call came to. `ok` and `rejected` are signed, verified answers: something the channel
 * actually said (200 with the expected body, or an error code). Everything else (timeout, abort, network
 * error, bad signature, 5xx, unexpected body) is `unknown`: the call may or may not have taken effect.
 */
export type GatewayResult<T> =
  { kind: 'ok'; data: T } | { kind: 'rejected'; code: string; reason: string } | { kind: 'unknown'; reason: string };

type GatewayReply = { kind: 'answer'; httpStatus: number; body: unknown } | { kind: 'unknown'; reason: string };

/** Signed JSON over HTTP to the mock gateway, with the caller's signal combined with our own timeout. */
export class MockGatewayClient {
  constructor(private readonly opts: MockGatewayClientOptions) {}

  async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    payload?: object,
    signal?: AbortSignal,
  ): Promise<GatewayResult<z.output<S>>> {
    const reply = await this.send(method, path, payload, signal);
    if (reply.kind === 'unknown') return reply;
    if (reply.httpStatus === 200) {
      const parsed = schema.safeParse(reply.body);
      return parsed.success ? { kind: 'ok', data: parsed.data } : { kind: 'unknown', reason: 'malformed response' };
    }
    const error = errorResponse.safeParse(reply.body);
    if (!error.success) return { kind: 'unknown', reason: `unexpected HTTP ${reply.httpStatus} without error code` };
    const { code, message } = error.data;
    return { kind: 'rejected', code, reason: message ? `${code}: ${message}` : code };
  }

  private async send(method: string, path: string, payload?: object, signal?: AbortSignal): Promise<GatewayReply> {
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    // Added to the signed headers, not spread together: see post().
    const sent = buildSignedHeaders(this.opts.secret, body ?? '');
    if (body !== undefined) sent['Content-Type'] = 'application/json';
    let answer: HttpAnswer;
    try {
      answer = await post(new URL(`${this.opts.gatewayUrl.replace(/\/+$/, '')}${path}`), {
        method,
        headers: sent,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      return { kind: 'unknown', reason: describeFailure(err, timeout, this.opts.timeoutMs, signal) };
    }
    const { httpStatus, headers, raw } = answer;
    const check = verifySignature(this.opts.secret, headers, raw);
    if (!check.valid) return { kind: 'unknown', reason: `response rejected: ${check.reason} (HTTP ${httpStatus})` };
    if (httpStatus >= 500) {
      return { kind: 'unknown', reason: `channel error HTTP ${httpStatus}: ${raw.toString('utf8')}` };
    }
    try {
      return { kind: 'answer', httpStatus, body: JSON.parse(raw.toString('utf8')) };
    } catch {
      return { kind: 'unknown', reason: `unreadable response body (HTTP ${httpStatus})` };
    }
  }
}

interface HttpAnswer {
  httpStatus: number;
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

/** Kept-alive connections to the gateway, per scheme (the calls are small and frequent). */
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * One request with node:http, the whole answer read. Not fetch: a Prepay's channel call cost 1.6 ms of CPU through
 * undici's fetch and 0.7 ms this way (bench/prepay-steps.ts, in-process; CreateOrder + Prepay served: 8.3–8.6 →
 * 7.7–8.4 ms per pair over three runs each).
 */
function post(
  url: URL,
  /** headers: the caller's own fresh object, which gets Content-Length here (a header added after a spread costs
   * ~1 µs on Node 20's V8, a map transition each time; added to the object, ~nothing). */
  opts: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
): Promise<HttpAnswer> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new Error(`unsupported URL scheme ${url.protocol}`));
  const secure = url.protocol === 'https:';
  const lib = secure ? https : http;
  const { headers } = opts;
  if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method: opts.method, headers, agent: secure ? agents['https:'] : agents['http:'], signal: opts.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          res.complete
            ? resolve({ httpStatus: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) })
            : reject(new Error('the answer ended before its body did')),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function describeFailure(err: unknown, timeout: AbortSignal, timeoutMs: number, signal?: AbortSignal): string {
  if (timeout.aborted) return `timed out after ${timeoutMs} ms`;
  if (signal?.aborted) return 'aborted by caller';
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `network error${err instanceof Error ? `: ${err.message}` : ''}${cause}`;
}
