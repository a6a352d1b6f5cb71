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
 *
 * A class, not an object literal with a `get signal()` and closures: each such literal defined its accessor at run
 * time and got a map of its own, and auth's `actor` was then added to it (Object.defineProperty under the hood):
 * ~2 % of a Query's CPU in perf. Here every call's context has the same shape.
 */
export class CallContext implements RequestContext {
  readonly requestId: string;
  /** Set by the authenticate interceptor. */
  actor: string | undefined = undefined;
  private readonly at: number;
  private controller: AbortController | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** After done(), a late reader gets a signal but leaves no timer or listener behind. */
  private finished = false;
  private readonly onCancel = (): void => this.controller?.abort(new Error('cancelled by caller'));

  constructor(private readonly call: ServerUnaryCall<unknown, unknown>) {
    const deadline = call.getDeadline();
    this.at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    const sent = call.metadata.get('x-request-id')[0];
    // The caller's id when it is a plain token, so logs join across services; a fresh one otherwise.
    this.requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  }

  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.finished) return controller.signal;
    if (this.call.cancelled) controller.abort(new Error('cancelled by caller'));
    else this.call.once('cancelled', this.onCancel);
    if (Number.isFinite(this.at) && !controller.signal.aborted) {
      const ms = this.at - Date.now();
      if (ms <= 0) controller.abort(new Error('deadline exceeded'));
      else this.timer = setTimeout(() => controller.abort(new Error('deadline exceeded')), ms);
    }
    return controller.signal;
  }

  /** True once the caller's deadline has passed. */
  expired(): boolean {
    return Number.isFinite(this.at) && Date.now() >= this.at;
  }

  /** The handler finished: clears the deadline timer and the cancel listener, if the signal was made. */
  done(): void {
    this.finished = true;
    if (!this.controller) return;
    clearTimeout(this.timer);
    this.call.removeListener('cancelled', this.onCancel);
  }
}

export const callContext = (call: ServerUnaryCall<unknown, unknown>): CallContext => new CallContext(call);
