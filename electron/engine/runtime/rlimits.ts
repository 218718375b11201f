// Ulimits by Docker name, clamped to what this process may grant: a root without
// CAP_SYS_RESOURCE cannot raise a hard limit above its own.
import { readFileSync } from 'node:fs';
import type { Ulimit } from '../../../common/models.ts';
import { invalid } from '../errors.ts';

export const RLIMITS: Record<string, number> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9, locks: 10,
  sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

const LIMITS_ROW: Record<string, string> = {
  cpu: 'Max cpu time', fsize: 'Max file size', data: 'Max data size', stack: 'Max stack size', core: 'Max core file size',
  rss: 'Max resident set', nproc: 'Max processes', nofile: 'Max open files', memlock: 'Max locked memory',
  as: 'Max address space', locks: 'Max file locks', sigpending: 'Max pending signals', msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority', rtprio: 'Max realtime priority', rttime: 'Max realtime timeout',
};

export const RLIM_INFINITY = 2n ** 64n - 1n;

export function hostHardLimit(name: string, limitsText = readFileSync('/proc/self/limits', 'utf8')): bigint {
  const row = limitsText.split('\n').find((l) => l.startsWith(LIMITS_ROW[name]));
  const hard = row?.slice(26).trim().split(/\s+/)[1];
  return !hard || hard === 'unlimited' ? RLIM_INFINITY : BigInt(hard);
}

export interface ResolvedRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
}

export function resolveUlimits(ulimits: Ulimit[], canRaise: boolean, limitsText?: string): ResolvedRlimit[] {
  return ulimits.map((u) => {
    const resource = RLIMITS[u.Name];
    if (resource === undefined) throw invalid(`invalid ulimit type: ${u.Name}`);
    const toBig = (n: number) => (n < 0 ? RLIM_INFINITY : BigInt(n));
    let soft = toBig(u.Soft);
    let hard = toBig(u.Hard);
    if (soft > hard) throw invalid(`ulimit ${u.Name}: soft limit ${u.Soft} is above hard limit ${u.Hard}`);
    if (!canRaise) {
      const max = hostHardLimit(u.Name, limitsText);
      if (hard > max) hard = max;
      if (soft > hard) soft = hard;
    }
    return { resource, soft, hard };
  });
}
