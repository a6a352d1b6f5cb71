import { cpus } from 'node:os';
import { SERVICE_NODE_FLAGS } from '../src/infra/node-flags';
import type { BenchConfig } from './config';
import type { PhaseResult } from './stats';

export interface Row {
  label: string;
  result: PhaseResult;
  /** CPU per op of the process serving the calls (service or echo child), microseconds. */
  serverCpuUs?: number;
  /** Resident memory of that process at the end of the window, MB. */
  serverRssMb?: number;
  dbCpuUs?: number;
  /** CPU over the window of the Redis server(s) the service uses; undefined when none was found on this machine. */
  redisCpuUs?: number;
  /** CPU over the window of the mock gateway in its own process (BENCH_GATEWAY=process); undefined inside the service. */
  gatewayCpuUs?: number;
  /** Statements MariaDB ran during the window, from all clients (Questions). */
  dbStatements?: number;
  /** CPU processes not the bench's used during the window, in cores: load that is not ours skews the figures. */
  otherCores?: number;
  /** h2load reports a mean, not percentiles. */
  meanOnly?: boolean;
  /** The time the caller waits for an answer before it gives up: p99 and max are reported against it. */
  budgetMs?: number;
  /** A line printed under the table about this row. */
  note?: string;
}

export interface Report {
  config: BenchConfig;
  loadAvgAtStart: number[];
  rows: Row[];
  /** The denominators of the ratio columns. */
  echo?: PhaseResult;
  rawInsert?: PhaseResult;
}

const NOTES = [
  'ops/s counts completions inside the measured window; for CreateOrder+Prepay one op is both calls in sequence.',
  'CPU columns are per op over the measured window: the serving process (service, or echo server) from /proc,',
  'the load process from process.cpuUsage() (h2load: /proc), mariadbd, redis-server and the mock gateway (in its',
  "own process) from /proc; other processes are everything else the machine ran. The raw-insert row's client is",
  "the mariadb driver process itself. DB statements are MariaDB's Questions counter over the window (BEGIN and",
  'COMMIT count; a prepared statement counts once, its PREPARE does not). Ratios are ops/s over the',
  "baseline's ops/s from this same run. Server RSS is the serving process's resident memory at the window's end.",
].join(' ');

const NOTIFY_NOTES = [
  'Notify rows: one op is one POST /notify/wx/:tenant/native carrying a TRANSACTION.SUCCESS notify (resource',
  'AES-256-GCM encrypted with the APIv3 key, envelope RSA-signed with the platform key), over node:http/1.1',
  'keep-alive with one socket per in-flight request, not HTTP/2; every body is signed in the load process before',
  'its warm-up, so the server CPU is verify, decrypt, dedupe and the database. Duplicate: one already-applied',
  'notify re-delivered (the process saw its receipt, so no read; a DUPLICATE record is written). First delivery:',
  'a fresh notify per PAYING order (the order becomes SUCCESS in one transaction with its receipt and record).',
].join(' ');

/** Other processes' CPU above which a row's figures are flagged as disturbed. */
const NOISE_CORES = 0.15;

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';
const rate = (r: PhaseResult): number => r.ops / r.seconds;
/** Per call made, failed ones included: they cost too. */
const calls = (r: PhaseResult): number => r.ops + r.errors;
const perOp = (us: number | undefined, r: PhaseResult): string => (us === undefined || calls(r) === 0 ? '–' : fmt(us / calls(r)));
const ratio = (r: PhaseResult, base: PhaseResult | undefined): string => (base && base.ops > 0 ? `${fmt(rate(r) / rate(base), 2)}×` : '–');

export function renderReport(rep: Report, heading = `# paysvc bench — ${new Date().toISOString()}`): string {
  const c = rep.config;
  const cpu = cpus();
  const lines = [
    heading,
    '',
    `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}; load average at start ${rep.loadAvgAtStart.map((l) => l.toFixed(2)).join(' / ')}.`,
    `Concurrency ${c.concurrency} over ${c.connections} HTTP/2 connection(s); ${c.warmupSeconds} s warm-up + ${c.seconds} s measured per scenario; ` +
      `service DB pool ${c.dbPoolSize}; mock gateway ${c.gateway === 'inproc' ? 'inside the service process' : 'in its own process'}; ` +
      `scratch database \`${c.database}\`; service and echo run with \`node ${SERVICE_NODE_FLAGS.join(' ')}\` (src/infra/node-flags.ts).`,
    '',
    '| Scenario | ops/s | p50 ms | p99 ms | errors | vs echo | vs raw insert | server CPU µs/op | client CPU µs/op | mariadbd CPU µs/op | redis CPU µs/op | gateway CPU µs/op | DB statements/op | server RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rep.rows) {
    const r = row.result;
    const flagged = r.errors > 0;
    const cells = [
      flagged ? `⚠ ${row.label}` : row.label,
      fmt(rate(r)),
      row.meanOnly ? `${fmt(r.latency.p50, 2)} (mean)` : fmt(r.latency.p50, 2),
      fmt(r.latency.p99, 2),
      flagged ? `**${r.errors}**` : '0',
      ratio(r, rep.echo),
      ratio(r, rep.rawInsert),
      perOp(row.serverCpuUs, r),
      perOp(Number.isFinite(r.clientCpuUs) ? r.clientCpuUs : undefined, r),
      perOp(row.dbCpuUs, r),
      perOp(row.redisCpuUs, r),
      perOp(row.gatewayCpuUs, r),
      row.dbStatements === undefined || calls(r) === 0 ? '–' : fmt(row.dbStatements / calls(r), 1),
      row.serverRssMb === undefined ? '–' : fmt(row.serverRssMb),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
    for (const [leg, l] of Object.entries(r.legs ?? {})) {
      lines.push(`| ↳ ${leg} call of it |  | ${fmt(l.p50, 2)} | ${fmt(l.p99, 2)} |${'  |'.repeat(10)}`);
    }
  }
  const errors = rep.rows.filter((row) => row.result.errors > 0);
  lines.push('');
  if (errors.length === 0) lines.push('No errors.');
  for (const row of errors) {
    lines.push(`⚠ **${row.label}**: ${row.result.errors} error(s) — its figures are not trustworthy:`);
    for (const [kind, n] of Object.entries(row.result.errorKinds)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)) {
      lines.push(`  - ${n} × ${kind}`);
    }
  }
  const noisy = rep.rows.filter((row) => (row.otherCores ?? 0) > NOISE_CORES);
  for (const row of noisy) {
    const cores = fmt(row.otherCores ?? NaN, 2);
    lines.push(`⚠ noisy machine during **${row.label}**: other processes used ${cores} cores; rerun when it is quiet.`);
  }
  if (noisy.length === 0) {
    const worst = Math.max(...rep.rows.map((row) => row.otherCores ?? 0));
    lines.push(`Quiet machine: other processes used at most ${fmt(worst, 2)} cores during any window.`);
  }
  for (const row of rep.rows) {
    const r = row.result;
    if (row.budgetMs) {
      const share = fmt((100 * r.latency.p99) / row.budgetMs, 2);
      const backlog = fmt((rate(r) * row.budgetMs) / 1000); // Little's law: in flight = rate × time
      lines.push(
        `**${row.label}**: p99 ${fmt(r.latency.p99, 2)} ms (max ${fmt(r.latency.max, 2)} ms) = ${share} % of the ` +
          `${fmt(row.budgetMs / 1000)} s answer budget; at ${fmt(rate(r))}/s, ~${backlog} requests in flight at once would take it all.`,
      );
    }
    if (row.note) lines.push(`**${row.label}**: ${row.note}`);
  }
  lines.push('', NOTES);
  if (rep.rows.some((row) => row.budgetMs)) lines.push('', NOTIFY_NOTES);
  return lines.join('\n');
}

/**
 * BENCH_ROUNDS > 1: a summary of every round's CPU per op and rate for each scenario, with their medians (each
 * column's own median), then each round's whole table, its ratios to its own round's baselines.
 */
export function renderRounds(rounds: Report[]): string {
  const labels = [...new Set(rounds.flatMap((rep) => rep.rows.map((row) => row.label)))];
  const median = (xs: number[]): number => {
    const sorted = xs.filter(Number.isFinite).sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const perRound = (label: string, value: (row: Row) => number) =>
    rounds.map((rep) => {
      const row = rep.rows.find((r) => r.label === label);
      return row ? value(row) : NaN;
    });
  const serverCpu = (row: Row) => (row.serverCpuUs === undefined || calls(row.result) === 0 ? NaN : row.serverCpuUs / calls(row.result));
  const dbCpu = (row: Row) => (row.dbCpuUs === undefined || calls(row.result) === 0 ? NaN : row.dbCpuUs / calls(row.result));
  const cell = (xs: number[]) => `${xs.map((x) => fmt(x)).join(' / ')} | **${fmt(median(xs))}**`;
  const lines = [
    `# paysvc bench — ${new Date().toISOString()}, ${rounds.length} rounds`,
    '',
    `Each round ran the selected scenarios in turn, its own echo baseline first; figures are per op, round by round, then their median.`,
    '',
    '| Scenario | server CPU µs/op, each round | median | mariadbd CPU µs/op, each round | median | ops/s, each round | median | errors |',
    '|---|---|---:|---|---:|---|---:|---:|',
    ...labels.map((label) => {
      const errors = perRound(label, (row) => row.result.errors).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
      const cells = [cell(perRound(label, serverCpu)), cell(perRound(label, dbCpu)), cell(perRound(label, (row) => rate(row.result)))];
      return `| ${errors > 0 ? `⚠ ${label}` : label} | ${cells.join(' | ')} | ${errors > 0 ? `**${errors}**` : '0'} |`;
    }),
  ];
  rounds.forEach((rep, i) => lines.push('', renderReport(rep, `## Round ${i + 1} of ${rounds.length}`)));
  return lines.join('\n');
}
