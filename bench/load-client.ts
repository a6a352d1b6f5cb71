/**
 * The load generator, run as its own process (see run.ts): `node -r tsx/cjs bench/load-client.ts '<json>'`.
 * Drives one scenario over node:http2 with pre-encoded gRPC frames and prints one JSON line (a PhaseResult).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { createOrderFrame, PATHS, prepayFrame, queryFrame, selfCheckCreateOrderFrame } from './grpc-frames';
import { benchToken } from './config';
import { openSession, unary } from './h2-unary';
import { announceWindow, phaseResult, runPhases, type Sink } from './stats';
import { exitWithParent } from '../scripts/lifecycle';

export type LoadScenario = 'echo' | 'create' | 'create-prepay' | 'query';

export interface LoadArgs {
  scenario: LoadScenario;
  port: number;
  concurrency: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** create-prepay: where to write the out_order_nos it created (one a line), for the query scenario. */
  idsOut?: string;
  /** query: the out_order_nos to query, round robin. */
  idsIn?: string;
}

const MAX_SAVED_IDS = 20000;

type Op = (worker: number, sink: Sink) => Promise<void>;

function scenarioOp(args: LoadArgs, sessions: ClientHttp2Session[], savedIds: string[]): Op {
  const token = benchToken();
  const session = (w: number) => sessions[w % sessions.length];
  const runTag = Date.now().toString(36);
  const seq = new Array<number>(args.concurrency).fill(0);
  const nextId = (kind: string, w: number) => `${runTag}${kind}${w.toString(36)}x${(seq[w]++).toString(36)}`;

  switch (args.scenario) {
    case 'echo': {
      const frame = createOrderFrame('echo-payload-of-order-size'); // same bytes on the wire as a CreateOrder
      return async (w, sink) => {
        const t = performance.now();
        const r = await unary(session(w), PATHS.echo, frame, token);
        if (r.ok) sink.ok(performance.now() - t);
        else sink.fail(r.kind);
      };
    }
    case 'create':
      return async (w, sink) => {
        const frame = createOrderFrame(nextId('c', w));
        const t = performance.now();
        const r = await unary(session(w), PATHS.createOrder, frame, token);
        if (r.ok) sink.ok(performance.now() - t);
        else sink.fail(`CreateOrder ${r.kind}`);
      };
    case 'create-prepay':
      return async (w, sink) => {
        const id = nextId('p', w);
        const t0 = performance.now();
        const created = await unary(session(w), PATHS.createOrder, createOrderFrame(id), token);
        if (!created.ok) return sink.fail(`CreateOrder ${created.kind}`);
        const t1 = performance.now();
        sink.ok(t1 - t0, 'CreateOrder');
        const paid = await unary(session(w), PATHS.prepay, prepayFrame(id), token);
        if (!paid.ok) return sink.fail(`Prepay ${paid.kind}`);
        const t2 = performance.now();
        sink.ok(t2 - t1, 'Prepay');
        sink.ok(t2 - t0);
        if (savedIds.length < MAX_SAVED_IDS) savedIds.push(id);
      };
    case 'query': {
      const ids = readFileSync(String(args.idsIn), 'utf8').split('\n').filter(Boolean);
      if (ids.length === 0) throw new Error(`no order ids in ${args.idsIn}: run create-prepay first`);
      const frames = ids.map(queryFrame);
      let next = 0;
      return async (w, sink) => {
        const frame = frames[next++ % frames.length];
        const t = performance.now();
        const r = await unary(session(w), PATHS.query, frame, token);
        if (r.ok) sink.ok(performance.now() - t);
        else sink.fail(`Query ${r.kind}`);
      };
    }
  }
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as LoadArgs;
  selfCheckCreateOrderFrame();
  const sessions = await Promise.all(Array.from({ length: args.connections }, () => openSession(args.port)));
  const savedIds: string[] = [];
  const op = scenarioOp(args, sessions, savedIds);
  const legNames = args.scenario === 'create-prepay' ? ['CreateOrder', 'Prepay'] : [];
  const { rec, legs, seconds, cpuUs } = await runPhases({
    ...args,
    workers: args.concurrency,
    op,
    legNames,
    onWindow: announceWindow,
  });
  for (const s of sessions) s.close();
  if (args.idsOut) writeFileSync(args.idsOut, savedIds.join('\n'));
  const result = phaseResult(args.scenario, seconds, rec, cpuUs, legNames.length > 0 ? legs : undefined);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

exitWithParent(); // the load stops with the bench that started it
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
