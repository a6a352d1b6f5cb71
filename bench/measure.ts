import { residentMb } from '../scripts/proc-status';
import { machineBusyUs, processCpuUs } from './children';
import type { Row } from './report';
import type { PhaseResult, WindowEdge } from './stats';

/** Runs one load process; it calls onWindow at the edges of its measured window and onSpawn with its pid. */
export type Driver = (onWindow: (edge: WindowEdge) => void, onSpawn: (pid: number) => void) => Promise<PhaseResult>;

interface Snapshot {
  at: number;
  server: number;
  client: number;
  db: number;
  machine: number;
  serverRssMb: number;
}

/**
 * Runs a driver and reads, at the edges of its measured window, the CPU of the serving process, the load
 * process, mariadbd and the whole machine, and MariaDB's statement count; at its end, the serving process's RSS.
 * What the machine used beyond those is other processes' load: noise, which the report flags.
 */
export async function measured(
  pids: { server?: number; db?: number },
  statementsRun: () => Promise<number>,
  run: Driver,
  onEdge: (edge: WindowEdge) => void = () => {},
): Promise<Pick<Row, 'result' | 'serverCpuUs' | 'serverRssMb' | 'dbCpuUs' | 'otherCores' | 'dbStatements'>> {
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
  const d = (k: keyof Snapshot) => end[k] - start[k];
  const ours = (pids.server ? d('server') : 0) + d('client') + d('db');
  return {
    result: Number.isFinite(result.clientCpuUs) ? result : { ...result, clientCpuUs: d('client') },
    serverCpuUs: pids.server ? d('server') : undefined,
    serverRssMb: pids.server ? end.serverRssMb : undefined,
    dbCpuUs: d('db'),
    otherCores: (d('machine') - ours) / (d('at') * 1000),
    dbStatements: s1 - s0,
  };
}
