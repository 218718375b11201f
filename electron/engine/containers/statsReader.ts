// Stats for one container: cgroup counters plus host CPU time and the container's
// network devices (read through its pid's /proc view of its network namespace).
// Read synchronously, as the cgroup counters are (see cgroups/fsCgroupManager.ts).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Cgroup } from '../cgroups/cgroupManager.ts';

import type { NetDev } from '../../../common/docker.ts';

export type { NetDev };

/** Docker's system_cpu_usage: the first 7 fields of /proc/stat's cpu line, in ns. */
export function cpuLineNs(procStat: string): number {
  const line = procStat.split('\n', 1)[0];
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((a, b) => a + Number(b), 0);
  return ticks * (1e9 / 100);
}

export async function hostCpuNs(): Promise<number> {
  return cpuLineNs(readFileSync('/proc/stat', 'utf8'));
}

export function parseNetDev(text: string): Record<string, NetDev> {
  const out: Record<string, NetDev> = {};
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest) continue;
    const f = rest.trim().split(/\s+/).map(Number);
    out[name.trim()] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}

export async function readStats(cgroup: Cgroup, pid: number) {
  const base = await cgroup.stats();
  base.cpu.systemNs_host = await hostCpuNs();
  base.cpu.onlineCpus = availableParallelism();
  let networks: Record<string, NetDev> = {};
  if (pid) {
    try {
      networks = parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
      delete networks.lo;
    } catch {
      networks = {};
    }
  }
  return { ...base, read: new Date().toISOString(), networks };
}
