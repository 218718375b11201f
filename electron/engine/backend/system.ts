// The engine's SystemBackend: info, version, disk usage and events, in the Docker API's shapes.
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import type { SystemBackend } from '../../backend/backend.ts';
import type { Engine } from '../engine.ts';
import { cacheInUse } from '../build/runMounts.ts';

export const ENGINE_VERSION = '27.5.0-berth';

function kernel(): string {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}

function osName(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

const arch = () => ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[process.arch] ?? process.arch;
const goArch = () => ({ x64: 'amd64' } as Record<string, string>)[process.arch] ?? process.arch;

/** dockerd's warnings for a rootless engine without cgroups (moby daemon/info_unix.go), and ours for egress. */
function warnings(e: Engine): string[] | null {
  const out: string[] = [];
  if (e.rootless && e.cgroupMode === 'none') {
    out.push(isUnified()
      ? 'WARNING: Running in rootless-mode without cgroups. Systemd is required to enable cgroups in rootless-mode.'
      : 'WARNING: Running in rootless-mode without cgroups. To enable cgroups in rootless-mode, you need to boot the system in cgroup v2 mode.');
  } else {
    // dockerd's warnings for what the cgroups it has cannot limit (a partly delegated subtree).
    const s = e.limits.supports;
    const missing: [boolean, string][] = [[s.memory, 'memory limit'], [s.swap, 'swap limit'], [s.cpuCfs, 'cpu cfs quota'], [s.cpuCfs, 'cpu cfs period'],
      [s.cpuShares, 'cpu shares'], [s.cpuset, 'cpuset'], [s.pids, 'pids limit']];
    for (const [ok, what] of missing) if (!ok) out.push(`WARNING: No ${what} support`);
  }
  if (e.egressWarning) out.push(`WARNING: ${e.egressWarning}`);
  for (const w of e.networkWarnings) out.push(`WARNING: ${w}`);
  return out.length ? out : null;
}

function isUnified(): boolean {
  try {
    return !readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / - cgroup /.test(l));
  } catch {
    return false;
  }
}

export function systemBackend(e: Engine): SystemBackend {
  return {
    async info() {
      const all = e.containers.list(true);
      const root = e.images.root;
      const s = e.limits.supports;
      return {
        ID: root, Containers: all.length,
        ContainersRunning: all.filter((c) => c.State.Running && !c.State.Paused).length,
        ContainersPaused: all.filter((c) => c.State.Paused).length,
        ContainersStopped: all.filter((c) => !c.State.Running).length,
        Images: e.images.ids().length, Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
        Plugins: { Volume: [], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
        MemoryLimit: s.memory, SwapLimit: s.swap, KernelMemory: false, CpuCfsPeriod: s.cpuCfs, CpuCfsQuota: s.cpuCfs, CPUShares: s.cpuShares, CPUSet: s.cpuset, PidsLimit: s.pids,
        IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false, Debug: false, NFd: 0, OomKillDisable: false, NGoroutines: 0,
        SystemTime: new Date().toISOString(), LoggingDriver: 'json-file', CgroupDriver: e.cgroupMode === 'none' ? 'none' : 'cgroupfs', CgroupVersion: e.cgroupMode === 'unified' || (e.cgroupMode === 'none' && isUnified()) ? '2' : '1',
        NEventsListener: 0, KernelVersion: kernel(), OperatingSystem: osName(), OSVersion: '', OSType: 'linux', Architecture: arch(),
        IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
        NCPU: availableParallelism(), MemTotal: totalmem(), DockerRootDir: root, HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: hostname(),
        Labels: [], ExperimentalBuild: false, ServerVersion: ENGINE_VERSION, Runtimes: { berth: { path: 'berth-helper' } }, DefaultRuntime: 'berth',
        Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
        LiveRestoreEnabled: true, Isolation: '', InitBinary: '', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
        BerthCgroupMode: e.cgroupMode, BerthLimitsReason: e.limits.reason ?? '',
        SecurityOptions: ['name=seccomp,profile=builtin', ...(e.rootless ? ['name=rootless'] : []), ...(e.cgroupMode === 'unified' ? ['name=cgroupns'] : [])],
        Warnings: warnings(e),
      };
    },
    async version() {
      return {
        Platform: { Name: 'Berth Engine' },
        Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: { Os: 'linux', Arch: goArch(), KernelVersion: kernel() } }],
        Version: ENGINE_VERSION, ApiVersion: '', MinAPIVersion: '', GitCommit: 'berth', GoVersion: `node${process.versions.node}`,
        Os: 'linux', Arch: goArch(), KernelVersion: kernel(), BuildTime: '2026-11-22T00:00:00.000000000+00:00',
      };
    },
    async diskUsage() {
      const du = e.imageDiskUsage();
      return {
        LayersSize: du.LayersSize,
        Images: du.Images,
        Containers: e.containers.list(true).map((r) => ({
          Id: r.Id, Names: [r.Name], Image: r.Config.Image, ImageID: r.ImageID, Command: [r.Path, ...r.Args].join(' '), Created: Math.floor(Date.parse(r.Created) / 1000),
          State: r.State.Status, Status: r.State.Status, SizeRw: 0, SizeRootFs: 0, Labels: r.Config.Labels, Mounts: [], Ports: [],
          HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'bridge' }, NetworkSettings: { Networks: r.NetworkSettings?.Networks ?? {} },
        })),
        Volumes: e.volumes.list().map((v) => e.volumes.view(v, true)),
        // A failed pull's partial downloads (kept to resume) are cache: shown here, freed by a prune.
        BuildCache: [
          ...e.images.content.partials().map((p) => ({
            ID: `partial-${p.digest.slice(7, 19)}`, Parent: '', Type: 'internal', Description: `partial download of ${p.digest}`,
            InUse: p.inUse, Shared: false, Size: p.size, CreatedAt: new Date(p.modified).toISOString(), LastUsedAt: new Date(p.modified).toISOString(), UsageCount: 0,
          })),
          ...e.cacheMounts.list().map((c) => ({
            ID: c.dir.split('/').at(-2)!, Parent: '', Type: 'exec.cachemount', Description: `cached mount ${c.target} (id ${c.id}) from RUN --mount=type=cache`,
            InUse: cacheInUse(c.dir.slice(0, -'/data'.length)), Shared: true, Size: c.size, CreatedAt: c.createdAt, LastUsedAt: c.lastUsedAt, UsageCount: c.usageCount,
          })),
        ],
      };
    },
    async pruneCache() {
      const r = e.images.content.prunePartials();
      const mounts = e.cacheMounts.prune(cacheInUse);
      const deleted = [...r.digests.map((d) => `partial-${d.slice(7, 19)}`), ...mounts.ids];
      if (deleted.length) e.events.emit('builder', 'prune', '', { reclaimed: String(r.bytes + mounts.bytes) });
      return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: r.bytes + mounts.bytes };
    },
    events(listener, opts = {}) {
      if (opts.since !== undefined) for (const ev of e.events.recent()) if (ev.timeNano >= opts.since) listener(ev);
      return e.events.on(listener);
    },
    async recentEvents() {
      return e.events.recent();
    },
  };
}
