import type { Deps } from '../../app/deps';
import { getStatistics, type Statistics, type Tally } from '../../app/get-statistics';
import { knownPayWays } from '../../channels/catalog';
import { localDay } from '../../domain/time-zones';
import { barChart, hbarChart, type Bar } from '../charts';
import { addDays, html, percent, startOfLocalDay, yuan, type Html } from '../html';
import { page, type PageContext } from '../layout';

const DAYS = 30;

/** Today and the last 30 days in the operator's zone, from GetStatistics' use case, as charts and exact figures. */
export async function statsPage(deps: Deps, ctx: PageContext): Promise<Html> {
  if (!ctx.tenant) return page(ctx, 'Today & 30 days', html`<p class="msg">Pick a tenant above.</p>`);
  const now = deps.now();
  const today = localDay(ctx.timeZone, now);
  const first = addDays(today, -(DAYS - 1));
  const ask = (from: Date) => getStatistics(deps, { tenantId: ctx.tenant, from, to: now, currency: 'CNY', timeZone: ctx.timeZone });
  const [todays, month] = await Promise.all([ask(startOfLocalDay(ctx.timeZone, today)), ask(startOfLocalDay(ctx.timeZone, first))]);
  const byDay = new Map(month.byDay);
  const days = Array.from({ length: DAYS }, (_, i) => addDays(first, i));
  const tallyOf = (d: string) => byDay.get(d);
  const dayBars = (value: (t: Tally) => bigint, title: (d: string, t: Tally | undefined) => string): Bar[] =>
    days.map((d) => {
      const t = tallyOf(d);
      return { label: d.slice(5), value: t ? value(t) : 0n, title: title(d, t) };
    });
  const describe = (d: string, t: Tally | undefined) =>
    t
      ? `${d}: paid ${yuan(t.paidAmount)} yuan in ${t.paidCount} of ${t.orderCount} orders (${percent(t.paidCount, t.orderCount)}); refunded ${yuan(t.refundedAmount)} yuan in ${t.refundCount}`
      : `${d}: no orders`;
  const rate = (t: Tally) => (t.orderCount > 0n ? (t.paidCount * 1000n) / t.orderCount : 0n); // per mille, for the bar only
  return page(
    ctx,
    'Today & 30 days',
    html`<p>Days cut at midnight in <b>${ctx.timeZone}</b>; amounts in yuan (CNY).</p>
      <h2>Today (${today})</h2>
      ${cards(todays.total)}
      <h2>Paid per day, last ${DAYS} days</h2>
      ${barChart(
        'daily-paid',
        `Paid amount per day in ${ctx.timeZone}`,
        dayBars((t) => t.paidAmount, describe),
        yuan,
      )}
      <h2>Success rate per day</h2>
      ${barChart('daily-rate', 'Paid orders out of created orders per day', dayBars(rate, describe), (v) => `${v / 10n}%`)}
      <h2>Refunds per day</h2>
      ${barChart(
        'daily-refunds',
        'Refunded amount per day',
        dayBars((t) => t.refundedAmount, describe),
        yuan,
      )}
      <h2>Last ${DAYS} days by channel</h2>
      ${groups('by-channel', byChannel(month))}
      <h2>Last ${DAYS} days by pay way</h2>
      ${groups(
        'by-pay-way',
        month.byPayWay.map(([w, t]) => [w || '(none chosen)', t] as [string, Tally]),
      )}
      <h2>Every day</h2>
      <table>
        <thead>
          <tr>
            <th>day</th>
            <th class="num">orders</th>
            <th class="num">paid</th>
            <th class="num">paid (yuan)</th>
            <th class="num">success</th>
            <th class="num">refunds</th>
            <th class="num">refunded (yuan)</th>
          </tr>
        </thead>
        <tbody>
          ${days.map((d) => {
            const t = tallyOf(d);
            return html`<tr>
              <td>${d}</td>
              <td class="num">${t?.orderCount ?? 0n}</td>
              <td class="num">${t?.paidCount ?? 0n}</td>
              <td class="num">${yuan(t?.paidAmount ?? 0n)}</td>
              <td class="num">${t ? percent(t.paidCount, t.orderCount) : '–'}</td>
              <td class="num">${t?.refundCount ?? 0n}</td>
              <td class="num">${yuan(t?.refundedAmount ?? 0n)}</td>
            </tr>`;
          })}
        </tbody>
      </table>`,
  );
}

function cards(t: Tally): Html {
  return html`<div class="grid">
    <div class="card">paid (yuan)<b id="today-paid">${yuan(t.paidAmount)}</b></div>
    <div class="card">paid orders<b>${t.paidCount} of ${t.orderCount}</b></div>
    <div class="card">success rate<b>${percent(t.paidCount, t.orderCount)}</b></div>
    <div class="card">refunded (yuan)<b>${yuan(t.refundedAmount)}</b></div>
    <div class="card">refunds<b>${t.refundCount}</b></div>
    <div class="card">net after fees (yuan)<b>${yuan(t.netAmount)}</b></div>
  </div>`;
}

/** The pay-way groups added up per channel (the catalog knows each pay way's channel). */
function byChannel(s: Statistics): [string, Tally][] {
  const out = new Map<string, Tally>();
  for (const [way, t] of s.byPayWay) {
    const channel = knownPayWays.get(way)?.channel ?? '(none chosen)';
    const sum = out.get(channel);
    out.set(
      channel,
      sum ? (Object.fromEntries(Object.keys(t).map((k) => [k, sum[k as keyof Tally] + t[k as keyof Tally]])) as unknown as Tally) : t,
    );
  }
  return [...out];
}

function groups(id: string, rows: [string, Tally][]): Html {
  if (rows.length === 0) return html`<p>No orders.</p>`;
  const bars = rows.map(([name, t]) => ({
    label: name,
    value: t.paidAmount,
    title: `${name}: paid ${yuan(t.paidAmount)} yuan in ${t.paidCount} of ${t.orderCount} orders (${percent(t.paidCount, t.orderCount)})`,
  }));
  return html`${hbarChart(id, 'Paid amount by group', bars, yuan)}
    <table>
      <thead>
        <tr>
          <th></th>
          <th class="num">orders</th>
          <th class="num">paid</th>
          <th class="num">paid (yuan)</th>
          <th class="num">success</th>
          <th class="num">refunded (yuan)</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          ([name, t]) =>
            html`<tr>
              <td>${name}</td>
              <td class="num">${t.orderCount}</td>
              <td class="num">${t.paidCount}</td>
              <td class="num">${yuan(t.paidAmount)}</td>
              <td class="num">${percent(t.paidCount, t.orderCount)}</td>
              <td class="num">${yuan(t.refundedAmount)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
