// Facts about host processes read from /proc.
import { readFileSync } from 'node:fs';

/** Field 22 of /proc/<pid>/stat, or undefined when the process is gone. */
export function procStarttime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** A process identified by pid and start time, so a reused pid is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  starttime: number;
}

export const isAlive = (p: ProcessRef) => procStarttime(p.pid) === p.starttime;

/** SIGTERM to the process if it is still the one referred to. */
export function terminate(p: ProcessRef): void {
  if (!isAlive(p)) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    /* exited meanwhile */
  }
}
