import { status, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { z } from 'zod';
import { cancelOrder } from '../app/cancel-order';
import { createOrder, DEFAULT_EXPIRE_SECONDS } from '../app/create-order';
import type { Deps, RequestContext } from '../app/deps';
import { getStatistics } from '../app/get-statistics';
import { listNotifies } from '../app/list-notifies';
import { watchOrder } from '../app/watch-order';
import { listEvents, replayEvent } from '../app/order-events';
import { listOrders } from '../app/list-orders';
import { listRefunds } from '../app/list-refunds';
import { listReconciliationDifferences, listReconciliationRuns, startReconciliation } from '../app/reconciliation-runs';
import { describePayWay, listPayWays, type PayWayView } from '../app/list-pay-ways';
import { prepay } from '../app/prepay';
import { queryOrder } from '../app/query-order';
import { queryRefund } from '../app/query-refund';
import { refundOrder } from '../app/refund-order';
import { updatePayWay } from '../app/update-pay-way';
import { InvalidArgumentError, ShuttingDownError } from '../domain/errors';
import type { PaymentServiceServer } from '../gen/payment/v1/payment_service';
import { PayWay } from '../gen/payment/v1/types';
import { authorize, tenantOf, type CallerAuth } from './auth';
import { authenticate } from './interceptors/authenticate';
import { unaryHandler, type Interceptor } from './interceptors/chain';
import { logCalls } from './interceptors/log-calls';
import { mapErrors } from './interceptors/map-errors';
import { rpcMetrics } from './interceptors/rpc-metrics';
import { trackInFlight } from './interceptors/track-in-flight';
import { callDepsOf } from './call-deps';
import { InFlight } from './in-flight';
import { logSubject } from './log-subject';
import { toServiceError } from './errors';
import {
  eventToProto,
  isPayWayNumber,
  notifyToProto,
  orderToProto,
  payloadToProto,
  payWayFromProto,
  payWayToProto,
  refundToProto,
} from './mappers';
import { orderPageToProto, parseGetStatistics, parseListOrders, parsePage, parseRefundScope, statisticsToProto } from './order-queries';
import { differenceToProto, parseListDifferences, parseListRuns, parseStart, runToProto } from './reconciliation-queries';
import * as v from './validation';

const createOrderRequest = z.object({
  tenantId: v.tenantId,
  outOrderNo: v.outOrderNo,
  amount: v.amount,
  currency: v.currency,
  subject: v.subject,
  description: v.description,
  userId: v.userId,
  payWay: z.number().int().refine(isPayWayNumber, 'is not a pay way this service knows'),
  expireSeconds: z
    .number()
    .int()
    .refine((s) => s === 0 || (s >= 60 && s <= 86400), 'must be 0 (default 1800) or between 60 and 86400'),
  notifyTopic: v.notifyTopic,
  attach: v.attach,
  extra: v.extra,
  clientIp: v.clientIp,
  returnUrl: v.returnUrl,
});

/** A pay way as ListPayWays and UpdatePayWay answer it. */
const payWayInfo = (w: PayWayView) => ({ ...w, payWay: payWayToProto(w.payWay), version: BigInt(w.version), updateTime: w.updatedAt });

/** A payable pay way: any value the catalog knows but UNSPECIFIED. */
function requirePayWay(way: PayWay, field = 'pay_way'): string {
  if (way === PayWay.PAY_WAY_UNSPECIFIED) throw new InvalidArgumentError(field, 'is required');
  return payWayFromProto(way, field);
}

/**
 * The gRPC transport: authenticate and authorize, parse and validate, call one use case, map the result. No
 * business logic here. The caller is checked before anything else runs, so a refused call writes nothing.
 */
export function paymentService(
  serviceDeps: Deps,
  auth: CallerAuth,
  inFlight = new InFlight(),
): PaymentServiceServer & UntypedServiceImplementation {
  // Outermost first: the log line and the metric see the mapped status. A handler gets the call's Deps (call-deps.ts).
  const interceptors: readonly Interceptor[] = [
    logCalls(serviceDeps),
    rpcMetrics(serviceDeps),
    mapErrors,
    trackInFlight(inFlight),
    authenticate(auth),
  ];
  const callDeps = callDepsOf(serviceDeps);
  const unary = <Req, Res>(name: string, fn: (req: Req, ctx: RequestContext, deps: Deps) => Promise<Res>): handleUnaryCall<Req, Res> =>
    unaryHandler<Req, Res>(name, interceptors, (req, ctx, logFields) => fn(req, ctx, callDeps(logFields)));

  return {
    createOrder: unary('CreateOrder', async (req, _ctx, deps) => {
      const r = v.parse(createOrderRequest, req);
      const { order, replayed } = await createOrder(deps, {
        ...r,
        payWay: payWayFromProto(r.payWay),
        expireSeconds: r.expireSeconds || DEFAULT_EXPIRE_SECONDS,
      });
      return { order: orderToProto(order), replayed };
    }),

    prepay: unary('Prepay', async (req, ctx, deps) => {
      const ref = v.parseOrderRef(req.order);
      const payWay = requirePayWay(req.payWay);
      const r = await prepay(
        deps,
        {
          ref,
          payWay,
          clientIp: v.parse(v.clientIp, req.clientIp, 'client_ip'),
          payerId: v.parse(v.payerId, req.payerId, 'payer_id'),
        },
        ctx,
      );
      return { order: orderToProto(r.order), attemptNo: r.attemptNo, replayed: r.replayed, payload: payloadToProto(r.payload) };
    }),

    query: unary('Query', async (req, ctx, deps) => {
      const o = await queryOrder(deps, v.parseOrderRef(req.order), req.sync, ctx);
      return { order: orderToProto(o, o.attempts, o.refunds, o.transitions) };
    }),

    cancel: unary('Cancel', async (req, ctx, deps) => {
      const ref = v.parseOrderRef(req.order);
      const o = await cancelOrder(deps, ref, v.parse(v.reason, req.reason, 'reason'), ctx);
      return { order: orderToProto(o, o.attempts, o.refunds) };
    }),

    refund: unary('Refund', async (req, ctx, deps) => {
      const ref = v.parseOrderRef(req.order);
      const r = await refundOrder(
        deps,
        {
          ref,
          outRefundNo: v.parse(v.newOutRefundNo, req.outRefundNo, 'out_refund_no'),
          amount: v.parse(v.amount, req.amount, 'amount'),
          reason: v.parse(v.reason, req.reason, 'reason'),
          attemptNo: v.parse(v.optionalAttemptNo, req.attemptNo, 'attempt_no'),
        },
        ctx,
      );
      return { refund: refundToProto(r.refund), order: orderToProto(r.order), replayed: r.replayed };
    }),

    queryRefund: unary('QueryRefund', async (req, ctx, deps) => {
      const tenantId = v.parse(v.tenantId, req.tenantId, 'tenant_id');
      const outRefundNo = v.parse(v.outRefundNo, req.outRefundNo, 'out_refund_no');
      return { refund: refundToProto(await queryRefund(deps, tenantId, outRefundNo, req.sync, ctx)) };
    }),

    listNotifies: unary('ListNotifies', async (req, _ctx, deps) => {
      const page = await listNotifies(deps, v.parseOrderRef(req.order), parsePage(req));
      return { notifies: page.items.map(notifyToProto), nextPageToken: page.nextPageToken };
    }),

    listPayWays: unary('ListPayWays', async (req, _ctx, deps) => {
      const ways = await listPayWays(deps, v.parse(v.tenantId, req.tenantId, 'tenant_id'));
      return { payWays: ways.map(payWayInfo) };
    }),

    updatePayWay: unary('UpdatePayWay', async (req, ctx, deps) => {
      const tenantId = v.parse(v.tenantId, req.tenantId, 'tenant_id');
      const payWay = requirePayWay(req.payWay);
      await updatePayWay(
        deps,
        {
          tenantId,
          payWay,
          expectedVersion: req.expectedVersion,
          enabled: req.enabled,
          feeRule: req.feeRule,
          displayOrder: req.displayOrder,
        },
        ctx,
      );
      return { payWay: payWayInfo(await describePayWay(deps, tenantId, payWay)) };
    }),

    listEvents: unary('ListEvents', async (req, _ctx, deps) => {
      const page = await listEvents(deps, v.parseOrderRef(req.order), parsePage(req));
      return { events: page.items.map(eventToProto), nextPageToken: page.nextPageToken };
    }),

    listRefunds: unary('ListRefunds', async (req, _ctx, deps) => {
      const page = await listRefunds(deps, parseRefundScope(req), parsePage(req));
      return { refunds: page.items.map(refundToProto), nextPageToken: page.nextPageToken };
    }),

    replayEvent: unary('ReplayEvent', async (req, ctx, deps) => {
      const tenantId = v.parse(v.tenantId, req.tenantId, 'tenant_id');
      const eventId = v.parse(v.eventId, req.eventId, 'event_id');
      return { event: eventToProto(await replayEvent(deps, tenantId, eventId, ctx)) };
    }),
    listOrders: unary('ListOrders', async (req, _ctx, deps) => orderPageToProto(await listOrders(deps, parseListOrders(req)))),
    getStatistics: unary('GetStatistics', async (req, _ctx, deps) => statisticsToProto(await getStatistics(deps, parseGetStatistics(req)))),
    listReconciliationRuns: unary('ListReconciliationRuns', async (req, _ctx, deps) => {
      const { filter, page } = parseListRuns(req);
      const p = await listReconciliationRuns(deps, filter, page);
      return { runs: p.items.map(runToProto), nextPageToken: p.nextPageToken };
    }),
    listReconciliationDifferences: unary('ListReconciliationDifferences', async (req, _ctx, deps) => {
      const r = parseListDifferences(req);
      const p = await listReconciliationDifferences(deps, r.tenantId, r.ref, r.kinds, r.page);
      return { run: runToProto(p.run), differences: p.items.map(differenceToProto), nextPageToken: p.nextPageToken };
    }),
    startReconciliation: unary('StartReconciliation', async (req, ctx, deps) => {
      const r = parseStart(req);
      const { jobId } = await startReconciliation(deps, r, ctx);
      return { jobId, tenantId: r.tenantId, channel: r.channel, day: r.day };
    }),
    watchOrder: (call) => {
      const timer = serviceDeps.metrics.rpcDuration.startTimer('WatchOrder');
      let actor: string | undefined;
      try {
        const caller = auth.authenticate(call);
        actor = caller.name;
        authorize(caller, 'WatchOrder', tenantOf(call.request));
      } catch (err) {
        const { error } = toServiceError(err, false);
        const code = status[error.code ?? status.UNKNOWN];
        timer(code);
        serviceDeps.log.info({ rpc: 'WatchOrder', actor, ...logSubject(call.request), code, details: error.details }, 'rpc refused');
        call.emit('error', error);
        return;
      }
      const stop = new AbortController();
      const closed = serviceDeps.orderFeed.closed;
      const onClose = () => stop.abort();
      call.on('cancelled', onClose); // the caller went away or its deadline passed
      closed.addEventListener('abort', onClose);
      const fail = (err: unknown) => {
        const { error, reason, unexpected } = toServiceError(err, false);
        if (unexpected) serviceDeps.log.error({ err, rpc: 'WatchOrder', actor, reason, ...logSubject(call.request) }, 'rpc failed');
        timer(status[error.code ?? status.UNKNOWN]);
        call.emit('error', error); // grpc-js turns it into the stream's status
      };
      (async () => {
        const ref = v.parseOrderRef(call.request.order);
        for await (const order of watchOrder(serviceDeps, ref, stop.signal)) call.write({ order: orderToProto(order) });
        if (closed.aborted) throw new ShuttingDownError('the server is shutting down; watch again');
        if (!stop.signal.aborted) call.end();
        timer('OK');
      })()
        .catch(fail)
        .finally(() => closed.removeEventListener('abort', onClose));
    },
  };
}
