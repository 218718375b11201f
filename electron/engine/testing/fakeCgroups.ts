// Cgroups in memory: limits kept, freeze tracked, no processes. Passes the cgroup conformance suite.
import type { Cgroup, CgroupLimits, CgroupManager, UsageFiles } from '../cgroups/cgroupManager.ts';
import { EngineError } from '../errors.ts';
import { ALL_LIMITS } from '../cgroups/limitSupport.ts';

class FakeCgroup implements Cgroup {
  readonly procsFiles: string[] = [];
  readonly v1Mounts: [string, string][] = [];
  readonly hasUnified = true;
  frozen = false;
  destroyed = false;

  constructor(readonly name: string, public limits: CgroupLimits, private readonly forget: () => void) {}

  update(limits: CgroupLimits): void {
    if (this.destroyed) throw new EngineError('NOT_FOUND', `cgroup ${this.name} is gone`);
    this.limits = { ...this.limits, ...limits };
  }

  async freeze(): Promise<void> {
    this.frozen = true;
  }

  async thaw(): Promise<void> {
    this.frozen = false;
  }

  pids(): number[] {
    return [];
  }

  async stats() {
    return {
      cpu: { totalNs: 0, userNs: 0, systemNs: 0, perCpuNs: [], throttledPeriods: 0, systemNs_host: 0, onlineCpus: 1 },
      memory: { usage: 0, limit: this.limits.memory ?? 0, cache: 0, inactiveFile: 0, maxUsage: 0, stats: {} },
      pids: { current: 0, limit: this.limits.pidsLimit ?? 0 }, blkio: [], oomKills: 0,
    };
  }

  usageFiles(): UsageFiles {
    return { version: 2, cpu: '/dev/null', memUsage: '/dev/null', memLimit: '/dev/null', memStat: '/dev/null', pids: '/dev/null', io: '/dev/null' };
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.forget();
  }
}

export class FakeCgroupManager implements CgroupManager {
  readonly mode = 'v2';
  readonly supports = ALL_LIMITS;
  readonly groups = new Map<string, FakeCgroup>();

  create(name: string, limits: CgroupLimits): Cgroup {
    const g = new FakeCgroup(name, {}, () => this.groups.delete(name));
    g.update(limits);
    this.groups.set(name, g);
    return g;
  }

  open(name: string): Cgroup {
    return this.groups.get(name) ?? new FakeCgroup(name, {}, () => this.groups.delete(name));
  }

  removeParent(): void {
    /* nothing on disk */
  }
}
