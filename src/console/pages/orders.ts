import type { Request } from 'express';
import { isPayWayCode, knownPayWays } from '../../channels/catalog';
import { findOrderBy, ORDER_KEYS, type OrderKey } from '../../app/find-order';
import { listOrders } from '../../app/list-orders';
import type { Deps } from '../../app/deps';
import { InvalidArgumentError } from '../../domain/errors';
import { USER_ID } from '../../domain/identifiers';
import { ORDER_STATUSES, type OrderStatus } from '../../domain/order-status';
import { addDays, html, num, startOfLocalDay, table, time, yuan, type Html } from '../html';
import { link, page, type PageContext } from '../layout';

/** Rows per page unless `size` (1–100) says otherwise. */
const PAGE_SIZE = 50;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const KEY_LABELS: Record<OrderKey | 'user_id', string> = {
  pay_no: 'pay no',
  out_order_no: 'out_order_no',
  user_id: 'user id',
  channel_trade_no: 'channel trade no',
  refund_no: 'refund no',
};

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * Find one order by a key (straight to its story), or list the tenant's orders with ListOrders' filters and
 * cursor paging (the same use case: the same SQL, indexes and page tokens).
 */
export async function ordersPage(deps: Deps, ctx: PageContext, req: Request): Promise<Html | { redirect: string }> {
  if (!ctx.tenant) return page(ctx, 'Orders', html`<p class="msg">Pick a tenant above.</p>`);
  const key = str(req.query.key) || 'pay_no';
  const value = str(req.query.q);
  let notFound: Html | undefined;
  if (value && key !== 'user_id') {
    if (!(ORDER_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentError('key', 'is not a key an order can be found by');
    const payNo = value.length <= 128 ? await findOrderBy(deps, ctx.tenant, key as OrderKey, value) : null;
    if (payNo) return { redirect: link(ctx, `/orders/${encodeURIComponent(payNo)}`) };
    notFound = html`<p class="msg err">
      No order of tenant <code>${ctx.tenant}</code> has ${KEY_LABELS[key as OrderKey]} <code>${value}</code>.
    </p>`;
  }
  if (key === 'user_id' && !USER_ID.test(value)) throw new InvalidArgumentError('q', 'is not a user id');
  const status = str(req.query.status);
  const payWay = str(req.query.pay_way);
  const [from, to] = [str(req.query.from), str(req.query.to)];
  if (status && !(ORDER_STATUSES as readonly string[]).includes(status)) throw new InvalidArgumentError('status', 'is not an order status');
  if (payWay && !isPayWayCode(payWay)) throw new InvalidArgumentError('pay_way', 'is not a pay way');
  if ((from && !DAY.test(from)) || (to && !DAY.test(to))) throw new InvalidArgumentError('from', 'days are YYYY-MM-DD');
  const filter = {
    tenantId: ctx.tenant,
    userId: key === 'user_id' && value ? value : undefined,
    statuses: status ? [status as OrderStatus] : [],
    payWays: payWay ? [payWay] : [],
    createdFrom: from ? startOfLocalDay(ctx.timeZone, from) : undefined,
    createdTo: to ? startOfLocalDay(ctx.timeZone, addDays(to, 1)) : undefined,
  };
  const pageToken = str(req.query.page);
  const size = str(req.query.size);
  if (size && !/^([1-9][0-9]?|100)$/.test(size)) throw new InvalidArgumentError('size', 'must be 1 to 100');
  const result = await listOrders(deps, { filter, pageSize: size ? Number(size) : PAGE_SIZE, pageToken });
  const kept = {
    key: key === 'user_id' ? key : undefined,
    q: key === 'user_id' ? value : undefined,
    status,
    pay_way: payWay,
    from,
    to,
    size,
  };
  const form = html`<form method="get" action="/console/orders">
    <input type="hidden" name="tenant" value="${ctx.tenant}" /><input type="hidden" name="tz" value="${ctx.timeZone}" />
    <select name="key" aria-label="find by">
      ${Object.entries(KEY_LABELS).map(([k, label]) => html`<option value="${k}" ${k === key ? ' selected' : ''}>${label}</option>`)}
    </select>
    <input name="q" value="${value}" size="30" aria-label="find" />
    <select name="status" aria-label="status">
      <option value="">any status</option>
      ${ORDER_STATUSES.map((s) => html`<option${s === status ? ' selected' : ''}>${s}</option>`)}
    </select>
    <select name="pay_way" aria-label="pay way">
      <option value="">any pay way</option>
      ${knownPayWays.codes().map((w) => html`<option${w === payWay ? ' selected' : ''}>${w}</option>`)}
    </select>
    created <input type="date" name="from" value="${from}" aria-label="created from" /> –
    <input type="date" name="to" value="${to}" aria-label="created to" /> <button>Find</button>
  </form>`;
  const rows = result.orders.map(
    (o) =>
      html`<tr>
        <td><a href="${link(ctx, `/orders/${encodeURIComponent(o.payNo)}`)}">${o.payNo}</a></td>
        <td>${o.outOrderNo}</td>
        <td>${o.userId}</td>
        <td><span class="tag">${o.status}</span></td>
        <td>${o.payWay ?? ''}</td>
        <td class="num">${yuan(o.amount)}</td>
        <td>${time(o.createdAt, ctx.timeZone)}</td>
      </tr>`,
  );
  const next = result.nextPageToken
    ? html`<p><a rel="next" href="${link(ctx, '/orders', { ...kept, page: result.nextPageToken })}">Next page →</a></p>`
    : '';
  return page(
    ctx,
    'Orders',
    html`${notFound}${form}
      <h2>Newest first</h2>
      ${table({
        columns: ['pay no', 'out_order_no', 'user', 'status', 'pay way', num('amount (yuan)'), 'created'],
        rows,
        empty: 'No orders.',
      })}
      ${next}`,
  );
}
