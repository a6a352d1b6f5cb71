import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * The same sampling profiler `node --cpu-prof` uses, but scoped to the measured window: the first SIGUSR2
 * starts it, the second stops it and writes `file` (a .cpuprofile). Startup and warm-up stay out of it.
 * `finish` resolves once the profile is on disk (or at once if profiling never started).
 */
export function installSignalProfiler(file: string): { finish(): Promise<void> } {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let written: Promise<void> = Promise.resolve();
  process.on('SIGUSR2', () => {
    if (state === 'idle') {
      state = 'running';
      written = post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 500 }))
        .then(() => post('Profiler.start'))
        .then(() => undefined);
    } else if (state === 'running') {
      state = 'stopped';
      written = written
        .then(() => post('Profiler.stop'))
        .then((res) => writeFileSync(file, JSON.stringify((res as { profile: object }).profile)));
    }
  });
  return { finish: () => written };
}
