// Cgroup layout detection from /proc/self/mountinfo. Hosts run v1, v2, or a hybrid
// (v1 controllers plus a cgroup2 mount whose controller set can change while we run),
// so this is read at engine start and again whenever a write fails.
import { readFileSync } from 'node:fs';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

export interface CgroupLayout {
  mode: CgroupMode;
  /** v1 controller → its hierarchy's mount point (co-mounted controllers share one). */
  v1: Map<string, string>;
  /** the cgroup2 mount, if any (the whole tree on unified hosts) */
  unified?: string;
  /** controllers the cgroup2 hierarchy owns */
  unifiedControllers: string[];
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'freezer', 'blkio', 'devices'];

export function parseMountinfo(text: string): { v1: Map<string, string>; unified?: string } {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const mountPoint = fields[4]?.replace(/\\040/g, ' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2') unified ??= mountPoint;
    if (fstype !== 'cgroup') continue;
    for (const opt of superOpts.split(',')) {
      if (V1_CONTROLLERS.includes(opt) && !v1.has(opt)) v1.set(opt, mountPoint);
    }
  }
  return { v1, unified };
}

export function detectLayout(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const { v1, unified } = parseMountinfo(mountinfo);
  let unifiedControllers: string[] = [];
  if (unified) {
    try {
      unifiedControllers = readFileSync(`${unified}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      unifiedControllers = [];
    }
  }
  const mode: CgroupMode = v1.size === 0 && unified ? 'unified' : unified ? 'hybrid' : 'legacy';
  return { mode, v1, unified, unifiedControllers };
}
