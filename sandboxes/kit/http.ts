import type { ErrorRequestHandler, Request } from 'express';
import type { z } from 'zod';

/** A request a sandbox refuses; it answers `{code, message}` with this HTTP status (the mock channel, WeChat Pay). */
export class SandboxRejection<C extends string = string> extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: C,
    message: string,
  ) {
    super(message);
  }
}

/** `instanceof SandboxRejection`, typed: an error handler's `err` is `any`, and instanceof would narrow it to SandboxRejection<any>. */
export const isSandboxRejection = (err: unknown): err is SandboxRejection => err instanceof SandboxRejection;

/** For the unsigned buyer pages: a rejection answers `{code, message}` as JSON; anything else goes on. */
export const rejectionAsJson: ErrorRequestHandler = (err, _req, res, next) => {
  if (!isSandboxRejection(err)) return next(err);
  res.status(err.httpStatus).json({ code: err.code, message: err.message });
};

/** The body as received (the API routers read it with `express.raw`), for signature checks. */
export function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * The JSON body, validated by `schema`; anything else is a 400 PARAM_ERROR naming the problems (`notJson` when
 * it is not JSON at all), the message cut to `maxMessage` characters.
 */
export function jsonBody<T extends z.ZodType>(schema: T, req: Request, notJson: string, maxMessage?: number): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(rawBody(req).toString('utf8'));
  } catch {
    throw new SandboxRejection(400, 'PARAM_ERROR', notJson);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new SandboxRejection(400, 'PARAM_ERROR', problems.join('; ').slice(0, maxMessage));
  }
  return parsed.data;
}
