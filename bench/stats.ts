/** Latency samples (ms) and error counts of one measured phase. */
export class Recorder {
  private samples = new Float64Array(1 << 16);
  private n = 0;
  errors = 0;
  /** Error message -> count, so the report can say what went wrong. */
  readonly errorKinds = new Map<string, number>();

  ok(latencyMs: number): void {
    if (this.n === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.n++] = latencyMs;
  }

  fail(kind: string): void {
    this.errors++;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const sorted = this.samples.slice(0, this.n).sort();
    return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[this.n - 1] ?? NaN };
  }
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** What every load process prints as its one JSON line on stdout. */
export interface PhaseResult {
  scenario: string;
  seconds: number;
  ops: number;
  errors: number;
  errorKinds: Record<string, number>;
  latency: LatencySummary;
  /** Per-call latency of the legs of a multi-call operation (CreateOrder+Prepay). */
  legs?: Record<string, LatencySummary>;
  /** CPU the load process itself used during the measured phase, microseconds. */
  clientCpuUs: number;
}

export function phaseResult(
  scenario: string,
  seconds: number,
  rec: Recorder,
  clientCpuUs: number,
  legs?: Record<string, Recorder>,
): PhaseResult {
  return {
    scenario,
    seconds,
    ops: rec.count,
    errors: rec.errors,
    errorKinds: Object.fromEntries(rec.errorKinds),
    latency: rec.summary(),
    legs: legs && Object.fromEntries(Object.entries(legs).map(([k, r]) => [k, r.summary()])),
    clientCpuUs,
  };
}

/** Where an operation reports: into the phase that is current when it completes. */
export interface Sink {
  /** A whole operation succeeded; with `leg`, one call of a multi-call operation did. */
  ok(latencyMs: number, leg?: string): void;
  fail(kind: string): void;
}

/**
 * Runs `workers` loops of `op` through a warm-up and a measured phase. Completions are counted in the phase in
 * which they complete, so ops/s is completions in the measured window divided by its length; ops still in
 * flight at the end are awaited but not counted.
 */
export async function runPhases(opts: {
  workers: number;
  warmupSeconds: number;
  seconds: number;
  op: (worker: number, sink: Sink) => Promise<void>;
  legNames?: string[];
  /** Called as the measured window opens and closes, e.g. to tell run.ts (see announceWindow). */
  onWindow?: (edge: WindowEdge) => void;
}): Promise<{ rec: Recorder; legs: Record<string, Recorder>; seconds: number; cpuUs: number }> {
  const newPhase = () => ({
    rec: new Recorder(),
    legs: Object.fromEntries((opts.legNames ?? []).map((n) => [n, new Recorder()])) as Record<string, Recorder>,
  });
  let phase = newPhase();
  const sink: Sink = {
    ok: (ms, leg) => (leg === undefined ? phase.rec.ok(ms) : phase.legs[leg]?.ok(ms)),
    fail: (kind) => phase.rec.fail(kind),
  };
  let stopAt = Number.POSITIVE_INFINITY;
  const loops = Array.from({ length: opts.workers }, async (_, w) => {
    while (performance.now() < stopAt) await opts.op(w, sink);
  });
  await sleep(opts.warmupSeconds * 1000);
  const measured = newPhase();
  phase = measured;
  opts.onWindow?.('start');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  stopAt = t0 + opts.seconds * 1000;
  await sleep(opts.seconds * 1000);
  phase = newPhase(); // completions after the window are not counted
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  opts.onWindow?.('end');
  await Promise.all(loops);
  return { rec: measured.rec, legs: measured.legs, seconds, cpuUs: cpu.user + cpu.system };
}

export type WindowEdge = 'start' | 'end';

/** A load process's way to tell run.ts where the measured window is: a JSON line on stdout. */
export const announceWindow = (edge: WindowEdge): void => {
  process.stdout.write(`${JSON.stringify({ window: edge })}\n`);
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
