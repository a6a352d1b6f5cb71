import type { OrderSide } from './consumer';
import type { InjectedFault } from './faults';
import type { Check } from './invariants';
import type { LoadStats } from './load';
import type { NotifyTally } from './notify-proxy';

export interface Samples {
  /** RSS per instance, MB, every 5 s (only while it runs). */
  rss: Record<string, number[]>;
  redisMb: number[];
}

/** First, largest and last sample: growth shows as last well above first. */
const spread = (all: number[]): string => {
  const xs = all.filter(Number.isFinite);
  return xs.length === 0 ? 'no samples' : `${xs[0].toFixed(0)} → max ${Math.max(...xs).toFixed(0)} → ${xs[xs.length - 1].toFixed(0)} MB`;
};

const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** Each fault once per line: when (seconds into the load) and what came of it, the last time it was injected. */
function faultLines(faults: InjectedFault[]): string[] {
  const byName = new Map<string, InjectedFault[]>();
  for (const f of faults) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  return [...byName].map(([name, all]) => {
    const at = all.map((f) => f.at.toFixed(0)).join(',');
    return `  ${all.length}× ${name} (at ${at} s): ${all[all.length - 1].outcome}`;
  });
}

export function printReport(r: {
  seconds: number;
  stats: LoadStats;
  faults: InjectedFault[];
  tallies: { what: string; k: string; n: bigint }[];
  checks: Check[];
  quiesceMs?: number;
  unsettled: Record<string, number>;
  notifies: NotifyTally;
  consumer: OrderSide;
  samples: Samples;
  restarts: Record<string, number>;
  passed: boolean;
}): void {
  const of = (what: string) => counts(Object.fromEntries(r.tallies.filter((t) => t.what === what).map((t) => [t.k, Number(t.n)])));
  const deliveries = [...r.consumer.deliveries.values()];
  const redelivered = deliveries.filter((n) => n > 1).length;
  const lines = [
    '',
    `== chaos run: ${r.seconds} s of load ==`,
    `orders     ${r.stats.orders} created: ${of('order')}`,
    `stories    ${counts(r.stats.stories)}`,
    `prepays    ${counts(r.stats.prepays)}`,
    `payments   ${r.stats.buyerPayments} by sandbox buyers (${r.stats.buyerRefused} refused by a closed trade)`,
    `refunds    ${r.stats.refundsAsked} asked, ${r.stats.refundsRefused} refused (over the refundable amount): ${of('refund')}`,
    `events     ${of('event')}`,
    `consumer   ${deliveries.length} event ids, ${deliveries.reduce((a, b) => a + b, 0)} deliveries (${redelivered} ids more than once)`,
    `notifies   ${of('notify')}; answers ${Object.entries(r.notifies.answers)
      .map(([c, a]) => `${c} ${a.ack} ack/${a.retry} retry/${a.foreign} foreign`)
      .join(', ')}; ${r.notifies.unreachable} found no instance`,
    `call errs  ${counts(r.stats.callErrors)}`,
    `faults     ${r.faults.length} injected; instance restarts ${counts(r.restarts)}`,
    ...faultLines(r.faults),
    `quiesce    ${r.quiesceMs === undefined ? `NOT SETTLED: ${JSON.stringify(r.unsettled)}` : `${(r.quiesceMs / 1000).toFixed(1)} s`}`,
    `memory     ${Object.entries(r.samples.rss)
      .map(([name, xs]) => `${name} ${spread(xs)}`)
      .join('; ')}; redis ${spread(r.samples.redisMb)}`,
    'invariants',
    ...r.checks.flatMap((c) => [
      `  ${c.broken === 0 ? 'ok  ' : 'FAIL'} ${c.name}: ${c.broken} of ${c.checked}`,
      ...c.samples.map((s) => `         e.g. ${s}`),
    ]),
    r.passed ? 'PASSED' : 'FAILED',
  ];
  console.log(lines.join('\n'));
}
