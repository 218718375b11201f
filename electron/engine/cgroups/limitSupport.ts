// Which resource limits this engine can enforce, and Docker's answer to a request for one it
// cannot: the limit is dropped and the create or update response carries a warning (moby
// daemon/daemon_unix.go verifyPlatformContainerResources), except --cpus, which is refused.
import type { HostConfig } from '../../../common/models.ts';
import { invalid } from '../errors.ts';

export interface LimitSupport {
  memory: boolean;
  swap: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuset: boolean;
  pids: boolean;
  /** pause and unpause */
  freezer: boolean;
}

export const ALL_LIMITS: LimitSupport = { memory: true, swap: true, cpuShares: true, cpuCfs: true, cpuset: true, pids: true, freezer: true };
export const NO_LIMITS: LimitSupport = { memory: false, swap: false, cpuShares: false, cpuCfs: false, cpuset: false, pids: false, freezer: false };

type Resources = Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpuQuota' | 'CpuPeriod' | 'CpusetCpus' | 'CpusetMems' | 'PidsLimit'>;

/**
 * Drops from `h` (in place) each limit the host cannot enforce and returns Docker's warning for
 * each; throws for a CPU count without the CFS scheduler, as dockerd does.
 */
export function discardUnsupported(h: Resources, s: LimitSupport): string[] {
  const warnings: string[] = [];
  if ((h.Memory ?? 0) > 0 && !s.memory) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    h.Memory = 0;
    h.MemorySwap = 0;
  }
  if ((h.Memory ?? 0) > 0 && h.MemorySwap && h.MemorySwap !== -1 && !s.swap) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    h.MemorySwap = -1;
  }
  if ((h.PidsLimit ?? 0) > 0 && !s.pids) {
    warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    h.PidsLimit = 0;
  }
  if ((h.NanoCpus ?? 0) > 0 && !s.cpuCfs) {
    throw invalid('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  }
  if ((h.CpuShares ?? 0) > 0 && !s.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    h.CpuShares = 0;
  }
  if ((h.CpuPeriod || h.CpuQuota) && !s.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    h.CpuPeriod = 0;
    h.CpuQuota = 0;
  }
  if ((h.CpusetCpus || h.CpusetMems) && !s.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    h.CpusetCpus = '';
    h.CpusetMems = '';
  }
  return warnings;
}
