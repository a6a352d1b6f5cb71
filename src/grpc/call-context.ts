import type { ServerUnaryCall } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../app/deps';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's deadline (and cancellation) as an AbortSignal that channel calls honour, so no work goes on
 * for a caller that has given up. Call `done` when the handler finishes to clear the timer.
 *
 * The signal is made on first use: most calls (CreateOrder, Query) never reach a channel, and an AbortController
 * with its deadline timer and cancel listener cost more than the rest of the call's bookkeeping. Made late, it
 * is aborted at once if the deadline has passed or the caller has cancelled already (grpc-js sets `cancelled`).
 */
export function callContext(call: ServerUnaryCall<unknown, unknown>): RequestContext & { done: () => void; expired: () => boolean } {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false; // after done(), a late reader gets a signal but leaves no timer or listener behind
  const onCancel = () => controller?.abort(new Error('cancelled by caller'));
  const signal = (): AbortSignal => {
    if (controller) return controller.signal;
    controller = new AbortController();
    if (finished) return controller.signal;
    if (call.cancelled) controller.abort(new Error('cancelled by caller'));
    else call.once('cancelled', onCancel);
    if (Number.isFinite(at) && !controller.signal.aborted) {
      const ms = at - Date.now();
      if (ms <= 0) controller.abort(new Error('deadline exceeded'));
      else timer = setTimeout(() => controller!.abort(new Error('deadline exceeded')), ms);
    }
    return controller.signal;
  };
  const sent = call.metadata.get('x-request-id')[0];
  // The caller's id when it is a plain token, so logs join across services; a fresh one otherwise.
  const requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  return {
    get signal() {
      return signal();
    },
    requestId,
    expired: () => Number.isFinite(at) && Date.now() >= at,
    done: () => {
      finished = true;
      if (!controller) return;
      clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
    },
  };
}
