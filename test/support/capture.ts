import { PassThrough } from 'node:stream';
import { PaymentError } from '../../src/client';
import { createLogger } from '../../src/infra/logger';
import type { Harness } from './harness';

/**
 * Swaps the service's logger for one writing JSON lines into `lines` (at debug); `restore` puts the original
 * back (call it in a finally).
 */
export function captureLogs(h: Harness): { lines: Record<string, unknown>[]; restore: () => void } {
  const out = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  out.on('data', (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((l) => lines.push(JSON.parse(l))),
  );
  const original = h.service.deps.log;
  h.service.deps.log = createLogger('debug', out);
  return { lines, restore: () => void (h.service.deps.log = original) };
}

/** The PaymentError a typed-client call must fail with. */
export async function rejection(p: Promise<unknown>): Promise<PaymentError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PaymentError)) throw new Error(`expected a PaymentError, got ${String(err)}`);
  return err;
}
