/**
 * An Alipay call that got no answer we may act on: no response in time, the caller's deadline or abort, a
 * network error, an HTTP error, an unsigned, badly signed or malformed response. The base handler turns it into
 * 'unknown'; `name` is 'TimeoutError' / 'AbortError' for those cases so the base can say so. Messages are short
 * and never carry key material.
 */
export class AlipayNoAnswerError extends Error {
  constructor(message: string, kind?: 'TimeoutError' | 'AbortError') {
    super(message);
    this.name = kind ?? 'AlipayNoAnswerError';
  }
}
