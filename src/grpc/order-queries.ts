import { z } from 'zod';
import { InvalidArgumentError } from '../domain/errors';
import type { Statistics, StatisticsQuery, Tally } from '../app/get-statistics';
import type { ListOrdersQuery, OrderPage } from '../app/list-orders';
import type { RefundScope } from '../app/list-refunds';
import type { PageRequest } from '../app/page-token';
import type { OrderStatus as DomainOrderStatus } from '../domain/order-status';
import { canonicalTimeZone, isTimeZone } from '../domain/time-zones';
import type {
  GetStatisticsRequest,
  GetStatisticsResponse,
  ListOrdersRequest,
  ListRefundsRequest,
  ListOrdersResponse,
  StatisticsBucket,
} from '../gen/payment/v1/payment_service';
import { OrderStatus, PayWay } from '../gen/payment/v1/types';
import { isPayWayNumber, orderToProto, payWayFromProto, payWayToProto } from './mappers';
import * as v from './validation';

/** ListOrders and GetStatistics at the transport: their requests checked and turned into queries, and back. */

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
const DEFAULT_CURRENCY = 'CNY';
const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
const MAX_STATISTICS_SPAN_MS = 366 * 86400_000;

/** A repeated enum filter: defined values only, UNSPECIFIED (0) excluded. */
const enumList = (e: Record<number, string>, unspecified: string) =>
  z.array(z.number()).refine((xs) => xs.every((x) => x !== 0 && e[x] !== undefined), `must list defined values other than ${unspecified}`);

const after = <T extends { createdFrom?: Date; createdTo?: Date }>(r: T) => !r.createdFrom || !r.createdTo || r.createdTo > r.createdFrom;
const notAfterFrom = { path: ['createdTo'], message: 'must be after created_from' };

const pageSize = z
  .number()
  .int()
  .refine((n) => n >= 0 && n <= MAX_PAGE_SIZE, `must be 0 (default ${DEFAULT_PAGE_SIZE}) or between 1 and ${MAX_PAGE_SIZE}`);

/** page_size and page_token of a keyset list (ListNotifies, ListEvents, ListRefunds), checked. */
export function parsePage(req: { pageSize: number; pageToken: string }): PageRequest {
  const r = v.parse(z.object({ pageSize, pageToken: z.string() }), { pageSize: req.pageSize, pageToken: req.pageToken });
  return { pageSize: r.pageSize || DEFAULT_PAGE_SIZE, pageToken: r.pageToken };
}

/** ListRefunds' scope: the tenant, and at most one of pay_no and out_order_no for one order's refunds. */
export function parseRefundScope(req: ListRefundsRequest): RefundScope {
  const tenantId = v.parse(v.tenantId, req.tenantId, 'tenant_id');
  if (req.payNo && req.outOrderNo) throw new InvalidArgumentError('out_order_no', 'give pay_no or out_order_no, not both');
  if (req.payNo) return { tenantId, order: { tenantId, payNo: v.parse(v.payNo, req.payNo, 'pay_no') } };
  if (req.outOrderNo) return { tenantId, order: { tenantId, outOrderNo: v.parse(v.outOrderNo, req.outOrderNo, 'out_order_no') } };
  return { tenantId };
}

const listOrdersRequest = z
  .object({
    tenantId: v.tenantId,
    userId: v.userId,
    statuses: enumList(OrderStatus, 'ORDER_STATUS_UNSPECIFIED'),
    payWays: z
      .array(z.number())
      .refine((xs) => xs.every((x) => x !== 0 && isPayWayNumber(x)), 'must list known pay ways other than PAY_WAY_UNSPECIFIED'),
    createdFrom: z.date().optional(),
    createdTo: z.date().optional(),
    pageSize,
    pageToken: z.string(),
  })
  .refine(after, notAfterFrom);

export function parseListOrders(req: ListOrdersRequest): ListOrdersQuery {
  const r = v.parse(listOrdersRequest, req);
  return {
    filter: {
      tenantId: r.tenantId,
      userId: r.userId || undefined,
      statuses: r.statuses.map((s) => OrderStatus[s].replace(/^ORDER_STATUS_/, '') as DomainOrderStatus),
      payWays: r.payWays.map((way) => payWayFromProto(way, 'pay_ways')),
      createdFrom: r.createdFrom,
      createdTo: r.createdTo,
    },
    pageSize: r.pageSize || DEFAULT_PAGE_SIZE,
    pageToken: r.pageToken,
  };
}

export const orderPageToProto = (p: OrderPage): ListOrdersResponse => ({
  orders: p.orders.map((o) => orderToProto(o)),
  nextPageToken: p.nextPageToken,
});

const statisticsRequest = z
  .object({
    tenantId: v.tenantId,
    createdFrom: z.date({ error: 'is required' }),
    createdTo: z.date({ error: 'is required' }),
    currency: z
      .string()
      .transform((c) => c || DEFAULT_CURRENCY)
      .pipe(v.currency),
    timeZone: z
      .string()
      .transform((tz) => tz || DEFAULT_TIME_ZONE)
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
      .transform(canonicalTimeZone),
  })
  .refine(after, notAfterFrom)
  .refine((r) => r.createdTo.getTime() - r.createdFrom.getTime() <= MAX_STATISTICS_SPAN_MS, {
    path: ['createdTo'],
    message: 'must be at most 366 days after created_from',
  });

export function parseGetStatistics(req: GetStatisticsRequest): StatisticsQuery {
  const r = v.parse(statisticsRequest, req);
  return { tenantId: r.tenantId, from: r.createdFrom, to: r.createdTo, currency: r.currency, timeZone: r.timeZone };
}

export function statisticsToProto(s: Statistics): GetStatisticsResponse {
  return {
    total: bucket(s.total),
    byStatus: s.byStatus.map(([status, t]) => bucket(t, { status: OrderStatus[`ORDER_STATUS_${status}`] })),
    byPayWay: s.byPayWay.map(([way, t]) => bucket(t, { payWay: payWayToProto(way) })),
    byDay: s.byDay.map(([day, t]) => bucket(t, { day })),
    currency: s.currency,
    timeZone: s.timeZone,
  };
}

function bucket(t: Tally, group: Partial<Pick<StatisticsBucket, 'status' | 'payWay' | 'day'>> = {}): StatisticsBucket {
  return {
    ...t,
    successRate: t.orderCount === 0n ? 0 : Number(t.paidCount) / Number(t.orderCount),
    status: OrderStatus.ORDER_STATUS_UNSPECIFIED,
    payWay: PayWay.PAY_WAY_UNSPECIFIED,
    day: '',
    ...group,
  };
}
