import { spawn, type ChildProcess } from 'node:child_process';
import { eventually } from './harness';

/** A Redis of a test's own (no persistence), so it can be taken down without touching the other tests' one. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await eventually(async () => {
    const res = await fetch(`http://127.0.0.1:${port}`).catch((e: { cause?: { code?: string } }) => e.cause?.code ?? 'x');
    return res !== 'ECONNREFUSED';
  });
  return proc;
}

/** Kills it (SIGKILL: a crash, not a shutdown) and resolves once it has exited. */
export const stopRedis = (proc: ChildProcess): Promise<void> =>
  new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve()) && proc.kill('SIGKILL')));
