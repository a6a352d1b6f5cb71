import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { PaymentServiceClient } from '../gen/payment/v1/payment_service';

export type UnaryMethod =
  | 'createOrder'
  | 'prepay'
  | 'query'
  | 'cancel'
  | 'refund'
  | 'queryRefund'
  | 'listPayWays'
  | 'listNotifies'
  | 'listEvents'
  | 'listRefunds'
  | 'replayEvent'
  | 'listOrders'
  | 'getStatistics'
  | 'updatePayWay'
  | 'listReconciliationRuns'
  | 'listReconciliationDifferences'
  | 'startReconciliation';

type Signature<M extends UnaryMethod> = PaymentServiceClient[M] extends (
  request: infer Q,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: infer R) => void,
) => ClientUnaryCall
  ? [Q, R]
  : never;
export type RequestOf<M extends UnaryMethod> = Signature<M>[0];
export type ResponseOf<M extends UnaryMethod> = Signature<M>[1];

/** The metadata of every call: its x-request-id and, for a caller with a token, `authorization: Bearer …`. */
export function callMetadata(requestId: string, token?: string): Metadata {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/** One attempt of a unary call, as a promise; rejects with the grpc-js ServiceError. */
export function callOnce<M extends UnaryMethod>(
  stub: PaymentServiceClient,
  method: M,
  request: RequestOf<M>,
  metadata: Metadata,
  deadline: number,
  signal?: AbortSignal,
): Promise<ResponseOf<M>> {
  const fn = stub[method] as unknown as (
    request: RequestOf<M>,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: ResponseOf<M>) => void,
  ) => ClientUnaryCall;
  return new Promise((resolve, reject) => {
    const cancel = () => call.cancel();
    const call = fn.call(stub, request, metadata, { deadline }, (error, response) => {
      signal?.removeEventListener('abort', cancel);
      if (error) reject(error);
      else resolve(response);
    });
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
