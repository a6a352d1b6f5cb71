import type { ServerUnaryCall } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../app/deps';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's deadline (and cancellation) as an AbortSignal that channel calls honour, so no work goes on
 * for a caller that has given up. Call `done` when the handler finishes to clear the timer.
 */
export function callContext(call: ServerUnaryCall<unknown, unknown>): RequestContext & { done: () => void; expired: () => boolean } {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(at)) {
    const ms = at - Date.now();
    if (ms <= 0) controller.abort(new Error('deadline exceeded'));
    else timer = setTimeout(() => controller.abort(new Error('deadline exceeded')), ms);
  }
  const onCancel = () => controller.abort(new Error('cancelled by caller'));
  call.once('cancelled', onCancel);
  const sent = call.metadata.get('x-request-id')[0];
  // The caller's id when it is a plain token, so logs join across services; a fresh one otherwise.
  const requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  return {
    signal: controller.signal,
    requestId,
    expired: () => Number.isFinite(at) && Date.now() >= at,
    done: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}
