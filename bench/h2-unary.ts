import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

/** What one unary call came to: OK, or a short description of the failure for the error tally. */
export type UnaryOutcome = { ok: true } | { ok: false; kind: string };

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE, HTTP2_HEADER_STATUS } = constants;

export function openSession(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

/**
 * One gRPC unary call over a raw HTTP/2 stream: a pre-encoded request frame out, the response body discarded,
 * grpc-status read from the trailers (or from the headers of a trailers-only response). grpc-timeout is sent
 * as a real client would, so the service sets up its deadline handling as in production; so is the caller's
 * token, so every call pays for its authentication as in production.
 */
export function unary(session: ClientHttp2Session, path: string, frame: Buffer, token?: string): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    let httpStatus = 0;
    const stream = session.request({
      [HTTP2_HEADER_METHOD]: 'POST',
      [HTTP2_HEADER_PATH]: path,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [HTTP2_HEADER_TE]: 'trailers',
      'grpc-timeout': '10S',
      ...(token && { authorization: `Bearer ${token}` }),
    });
    const take = (h: IncomingHttpHeaders) => {
      const status = h['grpc-status'];
      const message = h['grpc-message'];
      if (status !== undefined) grpcStatus = String(status);
      if (message !== undefined) grpcMessage = decodeURIComponent(String(message));
    };
    stream.on('response', (h) => {
      httpStatus = Number(h[HTTP2_HEADER_STATUS]);
      take(h);
    });
    stream.on('trailers', take);
    stream.on('data', () => {});
    stream.once('error', (err: Error) => {
      grpcStatus = undefined;
      grpcMessage = `stream error: ${err.message}`;
    });
    stream.once('close', () => {
      if (grpcStatus === '0') return resolve({ ok: true });
      const kind = grpcStatus === undefined ? grpcMessage || `no grpc-status (HTTP ${httpStatus})` : `grpc ${grpcStatus}: ${grpcMessage}`;
      resolve({ ok: false, kind: kind.slice(0, 200) });
    });
    stream.end(frame);
  });
}
