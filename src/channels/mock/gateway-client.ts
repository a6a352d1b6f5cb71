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
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const contentType: Record<string, string> = payload === undefined ? {} : { 'Content-Type': 'application/json' };
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    let httpStatus: number;
    let headers: Headers;
    let raw: Buffer;
    try {
      const res = await fetch(`${this.opts.gatewayUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers: { ...contentType, ...buildSignedHeaders(this.opts.secret, body) },
        body: payload === undefined ? undefined : body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      httpStatus = res.status;
      headers = res.headers;
      raw = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      return { kind: 'unknown', reason: describeFailure(err, timeout, this.opts.timeoutMs, signal) };
    }
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

function describeFailure(err: unknown, timeout: AbortSignal, timeoutMs: number, signal?: AbortSignal): string {
  if (timeout.aborted) return `timed out after ${timeoutMs} ms`;
  if (signal?.aborted) return 'aborted by caller';
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `network error${err instanceof Error ? `: ${err.message}` : ''}${cause}`;
}
