import type { Request } from 'express';
import type { Deps } from '../../app/deps';
import { listReconciliationDifferences, listReconciliationRuns } from '../../app/reconciliation-runs';
import { requireTenant } from '../../app/tenants';
import { InvalidArgumentError } from '../../domain/errors';
import type { OrderStatus } from '../../domain/order-status';
import { listDeadEvents, listOldestOrders } from '../../repo/console-queries';
import { dayText } from '../../repo/reconciliation-queries';
import type { PayOrder } from '../../repo/pay-orders';
import { html, num, table, time, yuan, type Html } from '../html';
import { actionForm, link, page, type PageContext } from '../layout';

const LIMIT = 100;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const pickTenant = (ctx: PageContext, title: string) => page(ctx, title, html`<p class="msg">Pick a tenant above.</p>`);
const notice = (done: string | undefined) => (done ? html`<p class="msg" role="status">${done}</p>` : undefined);
const orderLink = (ctx: PageContext, payNo: string) => html`<a href="${link(ctx, `/orders/${encodeURIComponent(payNo)}`)}">${payNo}</a>`;

/** Events that exhausted their retries, the most recent first, each with replay (ReplayEvent's use case). */
export async function deadLettersPage(deps: Deps, ctx: PageContext, done?: string): Promise<Html> {
  if (!ctx.tenant) return pickTenant(ctx, 'Dead letters');
  await requireTenant(deps, ctx.tenant);
  const events = await listDeadEvents(deps.db, ctx.tenant, LIMIT);
  const rows = events.map(
    (e) =>
      html`<tr>
        <td><code>${e.id}</code></td>
        <td>${orderLink(ctx, e.payNo)}</td>
        <td>${e.type}</td>
        <td><code>${e.topic}</code></td>
        <td class="num">${e.attempts}</td>
        <td><code>${e.lastError ?? ''}</code></td>
        <td>${time(e.nextAttemptAt, ctx.timeZone)}</td>
        <td>${actionForm(ctx, `/events/${encodeURIComponent(e.id)}/replay`, 'Replay')}</td>
      </tr>`,
  );
  return page(
    ctx,
    'Dead letters',
    html`<p>
        Events that exhausted their delivery retries (the newest ${LIMIT}). Replay delivers one again under the same event id with a fresh
        schedule.
      </p>
      ${table({
        id: 'dead-letters',
        columns: ['event', 'order', 'type', 'topic', num('tries'), 'last error', 'given up', ''],
        rows,
        empty: 'No dead letters.',
      })}`,
    notice(done),
  );
}

/**
 * Orders that need a look: PAYING past the first status query of the sync schedule, and PAID_AFTER_CLOSE (money
 * held for a refund). The oldest first (the longest waiting are the most urgent; idx_pay_order_tenant_status_created_at
 * read forward), LIMIT of each; each with "query the channel now".
 */
export async function stuckPage(deps: Deps, ctx: PageContext, syncAfterMs: number, done?: string): Promise<Html> {
  if (!ctx.tenant) return pickTenant(ctx, 'Stuck orders');
  await requireTenant(deps, ctx.tenant);
  const of = (status: OrderStatus, createdTo?: Date) => listOldestOrders(deps.db, ctx.tenant, status, createdTo, LIMIT);
  const [paying, paidAfterClose] = await Promise.all([of('PAYING', new Date(deps.now().getTime() - syncAfterMs)), of('PAID_AFTER_CLOSE')]);
  const stuckTable = (id: string, orders: PayOrder[]) =>
    table({
      id,
      columns: ['pay no', 'out_order_no', 'pay way', num('amount (yuan)'), 'created', 'updated', ''],
      rows: orders.map(
        (o) =>
          html`<tr>
            <td>${orderLink(ctx, o.payNo)}</td>
            <td>${o.outOrderNo}</td>
            <td>${o.payWay}</td>
            <td class="num">${yuan(o.amount)}</td>
            <td>${time(o.createdAt, ctx.timeZone)}</td>
            <td>${time(o.updatedAt, ctx.timeZone)}</td>
            <td>${actionForm(ctx, `/orders/${encodeURIComponent(o.payNo)}/sync`, 'Query the channel now', { back: 'stuck' })}</td>
          </tr>`,
      ),
      empty: 'None.',
    });
  return page(
    ctx,
    'Stuck orders',
    html`<p>The oldest ${LIMIT} of each, the longest waiting first.</p>
      <h2>PAYING for longer than the first status query (${Math.round(syncAfterMs / 1000)} s)</h2>
      ${stuckTable('stuck-paying', paying)}
      <h2>PAID_AFTER_CLOSE: paid after closing, awaiting the refund</h2>
      ${stuckTable('stuck-paid-after-close', paidAfterClose)}`,
    notice(done),
  );
}

/** The tenant's reconciliation runs, newest day first, and one run's differences (the operate RPCs' use cases). */
export async function reconciliationPage(deps: Deps, ctx: PageContext, req: Request): Promise<Html> {
  if (!ctx.tenant) return pickTenant(ctx, 'Reconciliation');
  const runParam = str(req.query.run);
  if (runParam && !/^[0-9]{1,19}$/.test(runParam)) throw new InvalidArgumentError('run', 'is not a run id');
  const runs = await listReconciliationRuns(deps, { tenantId: ctx.tenant }, { pageSize: 30, pageToken: str(req.query.page) });
  const diffs = runParam
    ? await listReconciliationDifferences(deps, ctx.tenant, { runId: BigInt(runParam) }, [], { pageSize: LIMIT, pageToken: '' })
    : undefined;
  const runRows = runs.items.map(
    (r) =>
      html`<tr>
        <td><a href="${link(ctx, '/reconciliation', { run: r.id.toString() })}">${r.id}</a></td>
        <td>${dayText(r.day)}</td>
        <td>${r.channel}</td>
        <td><span class="tag">${r.status}</span></td>
        <td class="num">${r.matched}</td>
        <td class="num">${r.differences}</td>
        <td class="num">${r.applied}</td>
        <td class="num">${yuan(r.statementAmount)}</td>
        <td><code>${r.actor}</code></td>
        <td>${time(r.finishedAt, ctx.timeZone)}</td>
      </tr>`,
  );
  const diffTable = diffs
    ? html`<h2>Differences of run ${diffs.run.id} (${dayText(diffs.run.day)}, ${diffs.run.channel})</h2>
        ${table({
          id: 'differences',
          columns: [
            'kind',
            'order',
            'out_trade_no',
            'channel trade no',
            num('statement (yuan)'),
            num('ours (yuan)'),
            'resolution',
            'detail',
          ],
          rows: diffs.items.map(
            (d) =>
              html`<tr>
                <td>${d.kind}</td>
                <td>${d.payNo ? orderLink(ctx, d.payNo) : '–'}</td>
                <td><code>${d.outTradeNo ?? ''}</code></td>
                <td><code>${d.channelTradeNo ?? ''}</code></td>
                <td class="num">${d.statementAmount === null ? '–' : yuan(d.statementAmount)}</td>
                <td class="num">${d.localAmount === null ? '–' : yuan(d.localAmount)}</td>
                <td>${d.resolution}</td>
                <td>${d.detail}</td>
              </tr>`,
          ),
          empty: 'No differences.',
        })}`
    : '';
  const next = runs.nextPageToken
    ? html`<p><a href="${link(ctx, '/reconciliation', { page: runs.nextPageToken })}">Older runs →</a></p>`
    : '';
  return page(
    ctx,
    'Reconciliation',
    html`${table({
      id: 'runs',
      columns: [
        'run',
        'day',
        'channel',
        'status',
        num('matched'),
        num('differences'),
        num('applied'),
        num('statement (yuan)'),
        'by',
        'finished',
      ],
      rows: runRows,
      empty: 'No runs.',
    })}
    ${next}${diffTable}`,
  );
}
