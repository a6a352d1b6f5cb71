import type { Deps } from '../../app/deps';
import { orderStory, type OrderStory } from '../../app/order-story';
import type { ChannelRecord } from '../../domain/channel-record';
import { html, time, yuan, type Html } from '../html';
import { actionForm, link, page, type PageContext } from '../layout';
import { maskedBody, maskedHeaders } from '../secrets';

interface Entry {
  at: Date;
  what: Html;
  detail: Html;
}

/** What each status means for the question support gets ("the buyer says they paid"). */
const MEANING: Record<string, string> = {
  WAIT_PAY: 'Created; the buyer has not started paying.',
  PAYING: 'A payment was started at the channel; no final answer yet. "Query the channel now" asks it.',
  SUCCESS: 'Paid.',
  CLOSED: 'Closed unpaid (cancelled or expired). A payment the channel confirms later is not dropped: it becomes PAID_AFTER_CLOSE.',
  FAILED: 'The channel said the payment failed.',
  PARTIAL_REFUNDED: 'Paid, then partly refunded.',
  REFUNDED: 'Paid, then refunded in full.',
  PAID_AFTER_CLOSE: 'The buyer paid after the order was closed: the money is held for an automatic refund (or reopening, by policy).',
};

const kv = (o: Record<string, string> | undefined) => Object.entries(o ?? {}).map(([k, v]) => html`<code>${k}</code>=<code>${v}</code> `);

const records = (value: unknown): ChannelRecord[] => (Array.isArray(value) ? (value as ChannelRecord[]) : []);

const tag = (text: string, good?: boolean) => html`<span class="tag ${good === undefined ? '' : good ? 'ok' : 'bad'}">${text}</span>`;

/** An order's story: one timeline, oldest first, of everything recorded about it. */
export async function storyPage(deps: Deps, ctx: PageContext, payNo: string, done?: string): Promise<Html> {
  const story = await orderStory(deps, ctx.tenant, payNo);
  const o = story.order;
  const entries = timeline(story);
  const summary = html`<div class="grid">
      <div class="card">status<b>${tag(o.status)}</b></div>
      <div class="card">amount (yuan)<b>${yuan(o.amount)}</b></div>
      <div class="card">refunded (yuan)<b>${yuan(o.refundedAmount)}</b></div>
      <div class="card">
        out_order_no<b><code>${o.outOrderNo}</code></b>
      </div>
      <div class="card">
        user<b><code>${o.userId}</code></b>
      </div>
      <div class="card">paid<b>${time(o.paidAt, ctx.timeZone)}</b></div>
    </div>
    <p class="msg">
      ${MEANING[o.status] ?? ''} ${actionForm(ctx, `/orders/${encodeURIComponent(o.payNo)}/sync`, 'Query the channel now')}
    </p>`;
  const rows = entries.map(
    (e) =>
      html`<tr>
        <td>${time(e.at, ctx.timeZone)}</td>
        <td>${e.what}</td>
        <td>${e.detail}</td>
      </tr>`,
  );
  const notice = done ? html`<p class="msg" role="status">${done}</p>` : undefined;
  return page(
    ctx,
    `Order ${o.payNo}`,
    html`${summary}${story.truncated ? html`<p class="msg err">More notifies or events than one page shows; the oldest are listed.</p>` : ''}
      <h2>Story (oldest first)</h2>
      <table id="story">
        <thead>
          <tr>
            <th>when</th>
            <th>what</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
      <p><a href="${link(ctx, '/orders')}">← Orders</a></p>`,
    notice,
  );
}

function timeline(s: OrderStory): Entry[] {
  const o = s.order;
  const out: Entry[] = [
    {
      at: o.createdAt,
      what: html`Order created`,
      detail: html`${yuan(o.amount)} ${o.currency} · <code>${o.subject}</code> · expires ${o.expireAt.toISOString()}`,
    },
  ];
  for (const a of o.attempts) {
    const kind = (a.payload as { kind?: string } | null)?.kind ?? '–';
    out.push({
      at: a.createdAt,
      what: html`Attempt <code>${a.attemptNo}</code>`,
      detail: html`${a.payWay} at ${a.channel} · payload ${kind} · now
      ${tag(a.status)}${a.channelTradeNo ? html` · channel trade no <code>${a.channelTradeNo}</code>` : ''}`,
    });
    for (const r of records(a.channelRecords)) out.push(channelEntry(r, a.attemptNo));
  }
  for (const n of s.notifies) {
    const verdict = n.signatureValid ? tag('verified', true) : tag('not verified', false);
    out.push({
      at: n.createdAt,
      what: html`Notify from ${n.channel} (${n.kind})`,
      detail: html`${verdict} ${tag(n.result, n.result === 'PROCESSED')} ${n.detail}
        <details>
          <summary>raw body (${n.payloadBytes} bytes, sha256 ${n.payloadSha256.slice(0, 12)}…)</summary>
          <pre>${maskedBody(n.rawPayload)}</pre>
          <pre>${maskedHeaders(n.headers).map(([k, v]) => `${k}: ${v}\n`)}</pre>
        </details>`,
    });
  }
  for (const t of o.transitions) {
    out.push({
      at: t.createdAt,
      what: html`${t.fromStatus} → ${t.toStatus}`,
      detail: html`cause ${tag(t.cause)} · actor <code>${t.actor}</code> · ${t.detail}`,
    });
  }
  for (const r of o.refunds) {
    out.push({
      at: r.createdAt,
      what: html`Refund <code>${r.refundNo}</code>`,
      detail: html`${yuan(r.amount)} yuan · <code>${r.outRefundNo}</code> · by <code>${r.requestedBy}</code> · ${r.reason} · now
        ${tag(r.status, r.status === 'SUCCESS')}${r.failureReason ? html` · ${r.failureReason}` : ''}`,
    });
    for (const rec of records(r.channelRecords)) out.push(channelEntry(rec, r.refundNo));
    if (r.succeededAt)
      out.push({ at: r.succeededAt, what: html`Refund <code>${r.refundNo}</code> succeeded`, detail: html`${yuan(r.amount)} yuan` });
  }
  for (const e of s.events) {
    out.push({
      at: e.createdAt,
      what: html`Event ${e.type}`,
      detail: html`<code>${e.id}</code> to <code>${e.topic}</code> ·
        ${tag(e.status, e.status === 'DELIVERED' ? true : e.status === 'DEAD' ? false : undefined)} after ${e.attempts}
        tries${e.lastError ? html` · last error <code>${e.lastError}</code>` : ''}`,
    });
    for (const d of e.deliveries) {
      out.push({
        at: d.createdAt,
        what: html`${d.target === 'replay' ? 'Replay' : `Delivery try ${d.attempt}`} of ${e.type}`,
        detail: html`${d.target} · ${tag(d.ok ? 'ok' : 'failed', d.ok)} ${d.detail}${d.actor ? html` · by <code>${d.actor}</code>` : ''} ·
        ${d.durationMs} ms`,
      });
    }
  }
  for (const a of s.actions) {
    out.push({ at: a.createdAt, what: html`Operator action ${a.action}`, detail: html`by <code>${a.actor}</code> · ${a.outcome}` });
  }
  // Oldest first; ties keep the order above (the order, then attempts, notifies, transitions, …).
  return out
    .map((e, i) => [e, i] as const)
    .sort(([a, i], [b, j]) => a.at.getTime() - b.at.getTime() || i - j)
    .map(([e]) => e);
}

function channelEntry(r: ChannelRecord, about: string): Entry {
  const what = r.operation === 'query' || r.operation === 'query_refund' ? 'Status query' : `Channel ${r.operation}`;
  return {
    at: new Date(r.at),
    what: html`${what} (<code>${about}</code>)`,
    detail: html`${r.endpoint ? html`<code>${r.endpoint}</code> · ` : ''}sent ${kv(r.sent)}· answer ${kv(r.answer)}`,
  };
}
