import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { WatchOrderResponse } from '../gen/payment/v1/payment_service';
import type { PayOrder } from '../gen/payment/v1/types';
import { PaymentError } from './payment-error';

/**
 * The orders a WatchOrder stream sends. Ends when the server ends the stream, quietly when `signal` aborts, and
 * cancels the stream when the consumer stops early (break/return). Errors surface as PaymentError.
 */
export async function* ordersOf(
  call: ClientReadableStream<WatchOrderResponse>,
  requestId: string,
  signal?: AbortSignal,
): AsyncGenerator<PayOrder, void, undefined> {
  const cancel = () => call.cancel();
  if (signal?.aborted) cancel();
  else signal?.addEventListener('abort', cancel, { once: true });
  try {
    for await (const message of call as AsyncIterable<WatchOrderResponse>) {
      if (message.order) yield message.order;
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw PaymentError.from(err as ServiceError, requestId);
  } finally {
    signal?.removeEventListener('abort', cancel);
    call.cancel();
  }
}
