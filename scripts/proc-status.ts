import { readFileSync } from 'node:fs';

/** A process's resident memory now, MB, from /proc/<pid>/status (Linux); NaN when unreadable. */
export function residentMb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}
