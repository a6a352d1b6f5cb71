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

/**
 * An order named by its tenant and one of pay_no and out_order_no, written flat; the client turns it into the
 * proto's `OrderRef` (whose `key` oneof holds the one number) with `toOrderRef`.
 */
export type OrderRefInput = { tenantId: string } & ({ payNo: string; outOrderNo?: never } | { outOrderNo: string; payNo?: never });

/** The proto's `OrderRef` for a flat reference. */
export function toOrderRef(ref: OrderRefInput): OrderRef {
  return {
    tenantId: ref.tenantId,
    key: ref.payNo !== undefined ? { $case: 'payNo', value: ref.payNo } : { $case: 'outOrderNo', value: ref.outOrderNo },
  };
}

/** `req` with its flat `order` (if it has one) turned into the proto's `OrderRef`. */
export function withOrderRef<T extends object>(req: T): WithOrderRef<T> {
  if (!('order' in req) || req.order === undefined) return req as WithOrderRef<T>;
  return { ...req, order: toOrderRef(req.order as OrderRefInput) };
}

type WithOrderRef<T> = 'order' extends keyof T ? Omit<T, 'order'> & { order: OrderRef } : T;

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
