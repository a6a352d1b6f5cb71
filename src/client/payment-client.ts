import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import {
  CancelRequest,
  CreateOrderRequest,
  GetStatisticsRequest,
  ListEventsRequest,
  ListRefundsRequest,
  ListNotifiesRequest,
  ListOrdersRequest,
  ListPayWaysRequest,
  PaymentServiceClient,
  PrepayRequest,
  QueryRefundRequest,
  QueryRequest,
  RefundRequest,
  ReplayEventRequest,
  UpdatePayWayRequest,
  WatchOrderRequest,
  type CancelResponse,
  type CreateOrderResponse,
  type GetStatisticsResponse,
  type ListEventsResponse,
  type ListRefundsResponse,
  type ListNotifiesResponse,
  type ListOrdersResponse,
  type ListPayWaysResponse,
  type PrepayResponse,
  type QueryRefundResponse,
  type QueryResponse,
  type RefundResponse,
  type ReplayEventResponse,
  type UpdatePayWayResponse,
} from '../gen/payment/v1/payment_service';
import { OrderStatus, type PayOrder } from '../gen/payment/v1/types';
import { PaymentError } from './payment-error';
import { backoffMs, DEFAULT_RETRY, mayRetry, neverSent, pause, type RetryPolicy } from './retry';
import { orderRef, toOrderRef, withOrderRef, type CallOpts, type Input, type OrderRefInput, type PaymentClientOptions } from './types';
import { callMetadata, callOnce, type RequestOf, type ResponseOf, type UnaryMethod } from './unary-call';
import { ordersOf } from './watch';

/**
 * The order service's client for PaymentService. Every call has a deadline (retries included), is retried on
 * UNAVAILABLE with the same request and the same x-request-id, and fails with a PaymentError.
 */
export class PaymentClient {
  private readonly stub: PaymentServiceClient;
  private readonly deadlineMs: number;
  private readonly retry: RetryPolicy;
  private readonly token?: string;

  constructor(address: string, options: PaymentClientOptions = {}) {
    this.stub = new PaymentServiceClient(address, channelCredentials(options), { ...RECONNECT, ...options.channelOptions });
    this.token = options.token;
    this.deadlineMs = options.deadlineMs ?? 5000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  createOrder(req: Input<CreateOrderRequest, 'tenantId' | 'outOrderNo' | 'amount'>, opts?: CallOpts): Promise<CreateOrderResponse> {
    return this.call('createOrder', CreateOrderRequest.fromPartial(withOrderRef(req)), opts);
  }
  prepay(req: Input<PrepayRequest, 'payWay'>, opts?: CallOpts): Promise<PrepayResponse> {
    return this.call('prepay', PrepayRequest.fromPartial(withOrderRef(req)), opts);
  }
  query(req: Input<QueryRequest>, opts?: CallOpts): Promise<QueryResponse> {
    return this.call('query', QueryRequest.fromPartial(withOrderRef(req)), opts);
  }
  cancel(req: Input<CancelRequest>, opts?: CallOpts): Promise<CancelResponse> {
    return this.call('cancel', CancelRequest.fromPartial(withOrderRef(req)), opts);
  }
  refund(req: Input<RefundRequest, 'outRefundNo' | 'amount'>, opts?: CallOpts): Promise<RefundResponse> {
    return this.call('refund', RefundRequest.fromPartial(withOrderRef(req)), opts);
  }
  queryRefund(req: Input<QueryRefundRequest, 'tenantId' | 'outRefundNo'>, opts?: CallOpts): Promise<QueryRefundResponse> {
    return this.call('queryRefund', QueryRefundRequest.fromPartial(withOrderRef(req)), opts);
  }
  listPayWays(req: Input<ListPayWaysRequest, 'tenantId'>, opts?: CallOpts): Promise<ListPayWaysResponse> {
    return this.call('listPayWays', ListPayWaysRequest.fromPartial(withOrderRef(req)), opts);
  }
  listNotifies(req: Input<ListNotifiesRequest>, opts?: CallOpts): Promise<ListNotifiesResponse> {
    return this.call('listNotifies', ListNotifiesRequest.fromPartial(withOrderRef(req)), opts);
  }
  listEvents(req: Input<ListEventsRequest>, opts?: CallOpts): Promise<ListEventsResponse> {
    return this.call('listEvents', ListEventsRequest.fromPartial(withOrderRef(req)), opts);
  }
  listRefunds(req: Input<ListRefundsRequest, 'tenantId'>, opts?: CallOpts): Promise<ListRefundsResponse> {
    return this.call('listRefunds', ListRefundsRequest.fromPartial(withOrderRef(req)), opts);
  }
  replayEvent(req: Input<ReplayEventRequest, 'tenantId' | 'eventId'>, opts?: CallOpts): Promise<ReplayEventResponse> {
    return this.call('replayEvent', ReplayEventRequest.fromPartial(withOrderRef(req)), opts);
  }
  listOrders(req: Input<ListOrdersRequest, 'tenantId'>, opts?: CallOpts): Promise<ListOrdersResponse> {
    return this.call('listOrders', ListOrdersRequest.fromPartial(withOrderRef(req)), opts);
  }
  getStatistics(
    req: Input<GetStatisticsRequest, 'tenantId' | 'createdFrom' | 'createdTo'>,
    opts?: CallOpts,
  ): Promise<GetStatisticsResponse> {
    return this.call('getStatistics', GetStatisticsRequest.fromPartial(withOrderRef(req)), opts);
  }
  /** Operators: a pay way's switch, fee rule and display order, compare-and-set on expectedVersion (see the proto). */
  updatePayWay(req: Input<UpdatePayWayRequest, 'tenantId' | 'payWay'>, opts?: CallOpts): Promise<UpdatePayWayResponse> {
    return this.call('updatePayWay', UpdatePayWayRequest.fromPartial(withOrderRef(req)), opts);
  }

  /**
   * The order as it is, then after every change, until the server ends the stream (final status) or `signal`
   * aborts. No deadline and no retry unless asked: re-watching is safe, as the first message is the order as it is.
   */
  watchOrder(ref: OrderRefInput, opts: CallOpts = {}): AsyncIterable<PayOrder> {
    const requestId = opts.requestId ?? randomUUID();
    const metadata = callMetadata(requestId, this.token);
    const deadline = opts.deadlineMs === undefined ? Infinity : Date.now() + opts.deadlineMs;
    const call = this.stub.watchOrder(WatchOrderRequest.fromPartial({ order: toOrderRef(ref) }), metadata, { deadline });
    return ordersOf(call, requestId, opts.signal);
  }

  /** Creates the order (or replays it), then opens (or replays) a channel attempt on it. */
  async createAndPrepay(
    order: Input<CreateOrderRequest, 'tenantId' | 'outOrderNo' | 'amount'>,
    prepay: Omit<Input<PrepayRequest, 'payWay'>, 'order'>,
    opts?: Omit<CallOpts, 'requestId'>,
  ): Promise<{ created: CreateOrderResponse; prepaid: PrepayResponse }> {
    const created = await this.createOrder(order, opts);
    const prepaid = await this.prepay({ ...prepay, order: orderRef(present(created.order)) }, opts);
    return { created, prepaid };
  }

  /**
   * Queries the order every `pollMs` until its status is one of `statuses`; fails with DEADLINE_EXCEEDED after
   * `timeoutMs`. With `sync`, each query asks the channel first.
   */
  async waitForStatus(
    ref: OrderRefInput,
    statuses: readonly OrderStatus[],
    {
      timeoutMs = 30_000,
      pollMs = 500,
      sync = false,
      signal,
    }: { timeoutMs?: number; pollMs?: number; sync?: boolean; signal?: AbortSignal } = {},
  ): Promise<PayOrder> {
    const until = Date.now() + timeoutMs;
    const stuck = (order: PayOrder) =>
      new PaymentError(
        status.DEADLINE_EXCEEDED,
        `order ${order.payNo} is still ${OrderStatus[order.status]}, not ${statuses.map((s) => OrderStatus[s]).join(' or ')}, after ${timeoutMs} ms`,
      );
    let last: PayOrder | undefined;
    for (;;) {
      const deadlineMs = Math.max(1, Math.min(this.deadlineMs, until - Date.now()));
      try {
        last = present((await this.query({ order: ref, sync }, { deadlineMs, signal })).order);
      } catch (err) {
        // The last poll ran out of time (a pause can overshoot): report where the order was, not the poll.
        if (last && err instanceof PaymentError && err.code === status.DEADLINE_EXCEEDED && Date.now() >= until) throw stuck(last);
        throw err;
      }
      if (statuses.includes(last.status)) return last;
      if (Date.now() + pollMs >= until) throw stuck(last);
      await pause(pollMs, signal);
    }
  }

  close(): void {
    this.stub.close();
  }

  /**
   * Calls `method` until it succeeds, fails in a way not worth retrying (see mayRetry), runs out of attempts or of
   * deadline. Attempts that never left the client (no connection: a server restarting) do not count against
   * maxAttempts: they are retried until the deadline, so a restart shorter than the deadline is invisible.
   */
  private async call<M extends UnaryMethod>(method: M, request: RequestOf<M>, opts: CallOpts = {}): Promise<ResponseOf<M>> {
    const deadline = Date.now() + (opts.deadlineMs ?? this.deadlineMs);
    const requestId = opts.requestId ?? randomUUID();
    let sent = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await callOnce(this.stub, method, request, callMetadata(requestId, this.token), deadline, opts.signal);
      } catch (err) {
        const error = PaymentError.from(err as ServiceError, requestId);
        if (!neverSent(error)) sent++;
        // The server's RetryInfo is the least pause; backoff (with jitter) may make it longer.
        const delay = Math.max(backoffMs(this.retry, attempt), Math.min(error.retryDelayMs ?? 0, this.retry.maxDelayMs));
        if (!mayRetry(method, error) || sent >= this.retry.maxAttempts || Date.now() + delay >= deadline) throw error;
        await pause(delay, opts.signal, requestId);
      }
    }
  }
}

/**
 * grpc-js reconnects after 1 s, then backs off by 1.6 up to 120 s: a server that restarted would be seen only
 * at the next try. Capped at 1 s, a restart costs a caller at most about a second beyond its own length.
 */
const RECONNECT = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 };

/** Explicit credentials, else TLS from `tls`, else plaintext. */
function channelCredentials(options: PaymentClientOptions): ChannelCredentials {
  if (options.credentials) return options.credentials;
  if (options.tls) return credentials.createSsl(options.tls.ca ?? null, options.tls.key ?? null, options.tls.cert ?? null);
  return credentials.createInsecure();
}

function present(order: PayOrder | undefined): PayOrder {
  if (!order) throw new PaymentError(status.INTERNAL, 'the response has no order');
  return order;
}
