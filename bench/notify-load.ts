/**
 * The notify load generator, run as its own process: `node -r tsx/cjs bench/notify-load.ts '<json>'`. POSTs
 * signed WeChat Pay notifies to the sidecar over node:http keep-alive (one socket per in-flight request, as
 * WeChat's notifier opens them) and prints one JSON line (a PhaseResult). A notify counts as answered when
 * the sidecar acks it (200 or 204); anything else is an error.
 *
 * notify-duplicate: one event, applied by a single delivery before the warm-up, then delivered again and
 * again (re-signed each minute, so its timestamp stays within WeChat's 300 s). notify-first: one event per
 * PAYING order, all signed before the warm-up, each delivered once; signing is never in the window.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { TIMESTAMP_TOLERANCE_SECONDS } from '../src/channels/wechat/signing';
import { NotifyBuilder, type NotifyFixture, type SignedNotify } from './notify-bodies';
import { announceWindow, phaseResult, runPhases, sleep, type Sink } from './stats';
import { exitWithParent } from '../scripts/lifecycle';

export type NotifyScenario = 'notify-duplicate' | 'notify-first';

export interface NotifyLoadArgs {
  scenario: NotifyScenario;
  /** The sidecar's HTTP port. */
  port: number;
  /** JSON NotifyFixture (it holds the platform private key, so a file, not argv). */
  fixtureFile: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
}

type Outcome = { ok: true } | { ok: false; kind: string };
type Op = (worker: number, sink: Sink) => Promise<void>;

const RESIGN_MS = 60_000;

function poster(agent: Agent, port: number, tenantId: string): (n: SignedNotify) => Promise<Outcome> {
  const path = `/notify/wx/${tenantId}/native`;
  return (n) =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: n.headers, agent }, (res) => {
        const status = res.statusCode ?? 0;
        const ok = status === 200 || status === 204;
        let answer = '';
        res.on('data', (chunk: Buffer) => {
          if (!ok && answer.length < 200) answer += chunk.toString('utf8');
        });
        res.once('end', () => resolve(ok ? { ok } : { ok, kind: `HTTP ${status}: ${answer}`.slice(0, 200) }));
        res.once('error', (err) => resolve({ ok: false, kind: `response error: ${err.message}` }));
      });
      req.once('error', (err) => resolve({ ok: false, kind: `request error: ${err.message}` }));
      req.end(n.body);
    });
}

async function scenarioOp(args: NotifyLoadArgs, f: NotifyFixture, post: (n: SignedNotify) => Promise<Outcome>): Promise<Op> {
  const builder = new NotifyBuilder(f);
  const timed = async (n: SignedNotify, sink: Sink) => {
    const t = performance.now();
    const r = await post(n);
    if (r.ok) sink.ok(performance.now() - t);
    else sink.fail(r.kind);
  };

  if (args.scenario === 'notify-duplicate') {
    const body = builder.eventBody(f.duplicate);
    const first = await post(builder.deliver(body));
    if (!first.ok) throw new Error(`the first delivery of the duplicate notify failed: ${first.kind}`);
    let current = builder.deliver(body);
    let signedAt = performance.now();
    return (_w, sink) => {
      if (performance.now() - signedAt > RESIGN_MS) {
        current = builder.deliver(body);
        signedAt = performance.now();
      }
      return timed(current, sink);
    };
  }

  const t0 = performance.now();
  const notifies = f.fresh.map((attemptNo) => builder.deliver(builder.eventBody(attemptNo)));
  const signedSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`[notify-load] signed ${notifies.length} notifies in ${signedSeconds.toFixed(1)} s\n`);
  const oldestAtEnd = signedSeconds + args.warmupSeconds + args.seconds;
  if (oldestAtEnd > TIMESTAMP_TOLERANCE_SECONDS - 20) {
    throw new Error(
      `notify-first: signatures would be ${Math.round(oldestAtEnd)} s old by the end (WeChat allows ${TIMESTAMP_TOLERANCE_SECONDS}); shorten BENCH_SECONDS`,
    );
  }
  let next = 0;
  return async (_w, sink) => {
    const n = notifies[next++];
    if (n) return timed(n, sink);
    sink.fail('ran out of pre-built notifies: raise BENCH_NOTIFY_ORDERS');
    await sleep(100);
  };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as NotifyLoadArgs;
  const fixture = JSON.parse(readFileSync(args.fixtureFile, 'utf8')) as NotifyFixture;
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const op = await scenarioOp(args, fixture, poster(agent, args.port, fixture.tenantId));
  const { rec, seconds, cpuUs } = await runPhases({ ...args, workers: args.concurrency, op, onWindow: announceWindow });
  agent.destroy();
  process.stdout.write(`${JSON.stringify(phaseResult(args.scenario, seconds, rec, cpuUs))}\n`);
}

exitWithParent(); // the load stops with the bench that started it
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
