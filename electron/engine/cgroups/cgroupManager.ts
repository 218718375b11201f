// The cgroup seam: the engine asks for a cgroup with limits, then freezes, reads and
// destroys it. Implemented with plain file writes (FsCgroupManager) and by a fake for
// tests above this seam.
import type { ContainerStats } from '../../../common/models.ts';
import type { LimitSupport } from './limitSupport.ts';

export interface CgroupLimits {
  memory?: number;
  /** memory + swap, Docker's meaning: -1 unlimited, undefined = twice memory */
  memorySwap?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  /** real-time scheduling budget (v1 cpu.rt_runtime_us / cpu.rt_period_us) */
  cpuRtRuntime?: number;
  cpuRtPeriod?: number;
  /** device cgroup rules added to the default allow-list at creation ("c 1:3 rwm") */
  deviceRules?: string[];
}

/** The few counter files a live graph needs, by cgroup version (see stats/usageProbe.ts). */
export interface UsageFiles {
  /** 0: no cgroup, usage is summed over the container's processes (see noCgroupManager.ts) */
  version: 0 | 1 | 2;
  /** v1 cpuacct.usage (ns) or v2 cpu.stat (usage_usec) */
  cpu: string;
  memUsage: string;
  memLimit: string;
  memStat: string;
  pids: string;
  /** v1 blkio.throttle.io_service_bytes_recursive or v2 io.stat */
  io: string;
  /** the cgroup's processes, counted (and their memory summed) where the pids or memory controller is missing */
  procs?: string;
}

export interface Cgroup {
  readonly name: string;
  /** cgroup.procs files the helper writes the container's pid into */
  readonly procsFiles: string[];
  /** file whose oom_kill counter tells an OOM kill (memory.oom_control or memory.events) */
  readonly oomFile?: string;
  /** v1 hierarchies to mount inside the container: [mount name, controllers option] */
  readonly v1Mounts: [string, string][];
  readonly hasUnified: boolean;
  update(limits: CgroupLimits): void;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  pids(): number[];
  stats(): Promise<Omit<ContainerStats, 'read'>>;
  usageFiles(): UsageFiles;
  destroy(): Promise<void>;
}

export interface CgroupManager {
  /** unified, hybrid or legacy (cgroupfs), or none (a rootless engine without delegated cgroups) */
  readonly mode: string;
  /** which limits it enforces; create and update drop the others with Docker's warnings */
  readonly supports: LimitSupport;
  /** why some limits are unavailable, for messages and the app's banner */
  readonly reason?: string;
  create(name: string, limits: CgroupLimits): Cgroup;
  /** an existing cgroup (after an engine restart) */
  open(name: string): Cgroup;
  /** removes the parent cgroup of all containers when empty */
  removeParent(): void;
}
