// Containers without cgroups: a rootless engine on a host that delegates none to the user
// (cgroup v1 or hybrid, or v2 without systemd). Limits cannot be enforced (create and update
// drop them with Docker's warnings, see limitSupport.ts), pause has no freezer, and usage is
// summed over the container's processes from /proc: approximate, as Docker and podman say.
// The container's processes are those in its init's pid namespace; they all die with it.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ContainerStats } from '../../../common/models.ts';
import { EngineError } from '../errors.ts';
import type { Cgroup, CgroupLimits, CgroupManager, UsageFiles } from './cgroupManager.ts';
import { NO_LIMITS, type LimitSupport } from './limitSupport.ts';

const TICK_NS = 1e9 / 100;
const PAGE = 4096;

/** The processes in the same pid namespace as `init` (including it), by a /proc scan. */
export function pidsInNamespaceOf(init: number): number[] {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${init}/ns/pid`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) === ns) out.push(pid);
    } catch {
      /* gone, or not ours to look at */
    }
  }
  return out;
}

/**
 * `init` and its descendants, through each process's children list: cheap enough to sample every
 * second (exec sessions, whose parent is outside the container, are not counted).
 */
export function processTree(init: number): number[] {
  const out: number[] = [];
  const queue = [init];
  while (queue.length && out.length < 4096) {
    const pid = queue.shift()!;
    out.push(pid);
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').split(' ')) if (c) queue.push(Number(c));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU time (user, system, in ns) and resident memory (bytes) of one process; zeros once it is gone. */
export function processUsage(pid: number): { userNs: number; systemNs: number; rss: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 (utime, stime) and 24 (rss in pages), counted from field 3 here
    return { userNs: Number(f[11]) * TICK_NS, systemNs: Number(f[12]) * TICK_NS, rss: Number(f[21]) * PAGE };
  } catch {
    return { userNs: 0, systemNs: 0, rss: 0 };
  }
}

class ProcessGroup implements Cgroup {
  readonly procsFiles: string[] = [];
  readonly v1Mounts: [string, string][] = [];
  readonly hasUnified = false;

  constructor(readonly name: string, private readonly initPid: () => number | undefined, private readonly reason: string) {}

  update(_limits: CgroupLimits): void {
    /* nothing to enforce: create and update already dropped the limits with a warning */
  }

  async freeze(): Promise<void> {
    throw new EngineError('UNSUPPORTED', `cannot pause container ${this.name.slice(0, 12)}: ${this.reason}`);
  }

  async thaw(): Promise<void> {
    throw new EngineError('UNSUPPORTED', `cannot unpause container ${this.name.slice(0, 12)}: ${this.reason}`);
  }

  pids(): number[] {
    const init = this.initPid();
    return init ? pidsInNamespaceOf(init) : [];
  }

  async stats(): Promise<Omit<ContainerStats, 'read'>> {
    let userNs = 0;
    let systemNs = 0;
    let rss = 0;
    const pids = this.pids();
    for (const pid of pids) {
      const u = processUsage(pid);
      userNs += u.userNs;
      systemNs += u.systemNs;
      rss += u.rss;
    }
    return {
      cpu: { totalNs: userNs + systemNs, userNs, systemNs, perCpuNs: [], throttledPeriods: 0, systemNs_host: 0, onlineCpus: 0 },
      memory: { usage: rss, limit: 0, cache: 0, inactiveFile: 0, maxUsage: 0, stats: {} },
      pids: { current: pids.length, limit: 0 },
      blkio: [],
      oomKills: 0,
    };
  }

  usageFiles(): UsageFiles {
    return { version: 0, cpu: '', memUsage: '', memLimit: '', memStat: '', pids: '', io: '' };
  }

  async destroy(): Promise<void> {
    /* nothing on disk; the pid namespace ended with its init */
  }
}

export class NoCgroupManager implements CgroupManager {
  readonly mode = 'none';
  readonly supports: LimitSupport = NO_LIMITS;

  /**
   * @param initPid the running init of a container, by id
   * @param reason why there are no cgroups, for the messages (pause, the UI banner)
   */
  constructor(private readonly initPid: (name: string) => number | undefined, readonly reason: string) {}

  create(name: string, _limits: CgroupLimits): Cgroup {
    return this.open(name);
  }

  open(name: string): Cgroup {
    return new ProcessGroup(name, () => this.initPid(name), this.reason);
  }

  removeParent(): void {
    /* nothing on disk */
  }
}
