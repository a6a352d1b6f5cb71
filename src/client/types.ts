import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import type { OrderRef, PayOrder } from '../gen/payment/v1/types';
import type { RetryPolicy } from './retry';

export interface PaymentClientOptions {
  /** The caller's bearer token (`npm run caller -- new`), sent as `authorization: Bearer …` on every call. */
  token?: string;
  /**
   * TLS to the server: `ca` to trust (default: the system's roots), and `cert` + `key` for mTLS. Ignored when
   * `credentials` is given; without either, plaintext (local development only).
   */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Full control over the channel's credentials; overrides `tls`. */
  credentials?: ChannelCredentials;
  /** The deadline of a call, retries included, unless the call says otherwise. Default 5000. */
  deadlineMs?: number;
  retry?: Partial<RetryPolicy>;
  channelOptions?: ChannelOptions;
}

export interface CallOpts {
  /** This call's deadline, retries included; overrides the client's default. */
  deadlineMs?: number;
  /** Sent as x-request-id on every attempt of this call; a fresh UUID when not given. */
  requestId?: string;
  /** Aborting cancels the call (CANCELLED). */
  signal?: AbortSignal;
}

/** An order named by its tenant and one of pay_no and out_order_no. */
export type OrderRefInput = Partial<OrderRef> & { tenantId: string };

/**
 * A request as callers write it: any field may be left out (the stubs fill in proto defaults), except the ones
 * listed in `R` and the order reference. Money stays bigint.
 */
export type Input<T, R extends keyof T = never> = Partial<Omit<T, 'order'>> &
  Pick<T, R> &
  ('order' extends keyof T ? { order: OrderRefInput } : unknown);

/** The reference to an order the server hands back: tenant and pay_no (never both numbers, which it refuses). */
export const orderRef = (order: Pick<PayOrder, 'tenantId' | 'payNo'>): OrderRefInput => ({
  tenantId: order.tenantId,
  payNo: order.payNo,
});
