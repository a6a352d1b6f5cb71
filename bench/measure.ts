import { residentMb } from '../scripts/proc-status';
import { machineBusyUs, processCpuUs } from './children';
import type { Row } from './report';
import type { PhaseResult, WindowEdge } from './stats';

/** Runs one load process; it calls onWindow at the edges of its measured window and onSpawn with its pid. */
export type Driver = (onWindow: (edge: WindowEdge) => void, onSpawn: (pid: number) => void) => Promise<PhaseResult>;

/**
 * The bench's own processes whose CPU is read at the window's edges. Besides the serving process, the load process
 * and mariadbd, the calls also cost Redis (markers, the queues) and, with BENCH_GATEWAY=process, the mock gateway:
 * ours too, so that "other processes" counts only what is not the bench's.
 */
export interface BenchPids {
  server?: number;
  db?: number;
  /** Every redis-server the service talks to (one, or each Redis Cluster node on this machine). */
  redis?: readonly number[];
  gateway?: number;
}

/** CPU microseconds used so far (cumulative counters) and the time, at one edge of the window. */
export interface Snapshot {
  at: number;
  server: number;
  client: number;
  db: number;
  redis: number;
  gateway: number;
  machine: number;
  serverRssMb: number;
}

type Figures = Pick<Row, 'serverCpuUs' | 'serverRssMb' | 'dbCpuUs' | 'redisCpuUs' | 'gatewayCpuUs' | 'otherCores'> & {
  clientCpuUs: number;
};

/**
 * What the window cost each party, and what the rest of the machine used beyond them (in cores): noise, which the
 * report flags. A party with no pid is left out, not counted as 0 (missing is not nothing).
 */
export function windowFigures(pids: BenchPids, start: Snapshot, end: Snapshot): Figures {
  const d = (k: keyof Snapshot) => end[k] - start[k];
  const has = { server: pids.server !== undefined, redis: (pids.redis?.length ?? 0) > 0, gateway: pids.gateway !== undefined };
  const ours = (has.server ? d('server') : 0) + d('client') + d('db') + (has.redis ? d('redis') : 0) + (has.gateway ? d('gateway') : 0);
  return {
    serverCpuUs: has.server ? d('server') : undefined,
    serverRssMb: has.server ? end.serverRssMb : undefined,
    clientCpuUs: d('client'),
    dbCpuUs: d('db'),
    redisCpuUs: has.redis ? d('redis') : undefined,
    gatewayCpuUs: has.gateway ? d('gateway') : undefined,
    otherCores: (d('machine') - ours) / (d('at') * 1000),
  };
}

/**
 * Runs a driver and reads, at the edges of its measured window, the CPU of every process in `pids`, the load
 * process and the whole machine, and MariaDB's statement count; at its end, the serving process's RSS.
 */
export async function measured(
  pids: BenchPids,
  statementsRun: () => Promise<number>,
  run: Driver,
  onEdge: (edge: WindowEdge) => void = () => {},
): Promise<
  Pick<Row, 'result' | 'serverCpuUs' | 'serverRssMb' | 'dbCpuUs' | 'redisCpuUs' | 'gatewayCpuUs' | 'otherCores' | 'dbStatements'>
> {
  let clientPid: number | undefined;
  const snaps: Partial<Record<WindowEdge, Snapshot>> = {};
  const statements: Partial<Record<WindowEdge, Promise<number>>> = {};
  const result = await run(
    (edge) => {
      snaps[edge] = {
        at: performance.now(),
        server: processCpuUs(pids.server),
        client: processCpuUs(clientPid),
        db: processCpuUs(pids.db),
        redis: (pids.redis ?? []).reduce((sum, pid) => sum + processCpuUs(pid), 0),
        gateway: processCpuUs(pids.gateway),
        machine: machineBusyUs(),
        serverRssMb: residentMb(pids.server),
      };
      statements[edge] = statementsRun();
      onEdge(edge);
    },
    (pid) => (clientPid = pid),
  );
  const { start, end } = snaps;
  if (!start || !end || !statements.start || !statements.end) return { result };
  const [s0, s1] = await Promise.all([statements.start, statements.end]);
  const { clientCpuUs, ...figures } = windowFigures(pids, start, end);
  return {
    result: Number.isFinite(result.clientCpuUs) ? result : { ...result, clientCpuUs },
    ...figures,
    dbStatements: s1 - s0,
  };
}
