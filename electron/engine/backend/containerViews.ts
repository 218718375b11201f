// Container records in the Docker API's shapes: inspect, list entries and their status text,
// and the list filters (`docker ps --filter`).
import { humanDuration } from '../../../common/format.ts';
import type { ContainerInspect, ContainerListItem, Filters } from '../../../common/docker.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';
import { invalid } from '../errors.ts';
import { healthCommand } from '../containers/health.ts';

function command(r: ContainerRecord): string {
  return [r.Path, ...r.Args].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
}

function healthSuffix(r: ContainerRecord): string {
  const h = r.State.Health;
  if (!h || !healthCommand(r.Config.Healthcheck)) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/** `health=` filter value of a container: its status, or none without a check. */
function healthOf(r: ContainerRecord): string {
  return healthCommand(r.Config.Healthcheck) && r.State.Health ? r.State.Health.Status : 'none';
}

export function statusText(r: ContainerRecord): string {
  const s = r.State;
  const since = (t: string) => humanDuration(Date.now() - Date.parse(t));
  if (s.Paused) return `Up ${since(s.StartedAt)} (Paused)`;
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
  if (s.Running) return `Up ${since(s.StartedAt)}${healthSuffix(r)}`;
  if (s.Status === 'created') return 'Created';
  if (s.Status === 'dead') return 'Dead';
  return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
}

export function inspectView(r: ContainerRecord, dir: string, execIds: string[]): ContainerInspect {
  const networkMode = r.HostConfig.NetworkMode ?? 'bridge';
  return {
    Id: r.Id, Created: r.Created, Path: r.Path, Args: r.Args,
    State: { ...r.State },
    Image: r.ImageID,
    ResolvConfPath: `${dir}/resolv.conf`, HostnamePath: `${dir}/hostname`, HostsPath: `${dir}/hosts`, LogPath: `${dir}/container.log`,
    Name: r.Name, RestartCount: r.RestartCount, Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: networkMode, PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [0, 0],
      CapAdd: null, CapDrop: null, CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
      IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, Init: null,
      SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'berth', Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0,
      CgroupParent: '', BlkioWeight: 0, CpuPeriod: 0, CpuQuota: 0, CpusetCpus: '', CpusetMems: '', Devices: [], MemoryReservation: 0,
      MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: null, Mounts: [], MaskedPaths: [], ReadonlyPaths: [],
      ...r.HostConfig,
    },
    GraphDriver: { Name: 'overlay2', Data: null },
    Mounts: mountsView(r),
    Config: { ...r.Config, AttachStdin: false, AttachStdout: true, AttachStderr: true, ExposedPorts: r.Config.ExposedPorts, Volumes: r.Config.Volumes ?? null, OnBuild: null },
    NetworkSettings: networkSettingsView(r),
  };
}

function mountsView(r: ContainerRecord) {
  return (r.Mounts ?? []).map((m) => ({
    Type: m.Type, ...(m.Name ? { Name: m.Name } : {}), Source: m.Source, Destination: m.Destination, ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
  }));
}

function networkSettingsView(r: ContainerRecord): ContainerInspect['NetworkSettings'] {
  const ns = r.NetworkSettings ?? { Networks: {}, Ports: {}, SandboxKey: '' };
  const running = r.State.Running;
  const bridge = ns.Networks.bridge;
  const networks = Object.fromEntries(Object.entries(ns.Networks).map(([k, { ConfiguredMac: _, ...ep }]) => [k, ep]));
  const mode = r.HostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode === 'none') {
    networks[mode] = {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null, DriverOpts: null,
    };
  }
  return {
    Bridge: '', SandboxID: running ? r.Id : '', SandboxKey: running ? ns.SandboxKey : '', Ports: running ? ns.Ports : {}, HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '', Gateway: bridge?.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '', IPPrefixLen: bridge?.IPPrefixLen ?? 0, IPv6Gateway: '', MacAddress: bridge?.MacAddress ?? '', Networks: networks,
  };
}

function portsView(r: ContainerRecord) {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const ports = r.State.Running ? r.NetworkSettings?.Ports ?? {} : {};
  for (const [key, list] of Object.entries(ports)) {
    const [port, proto] = key.split('/');
    if (!list?.length) out.push({ PrivatePort: Number(port), Type: proto });
    for (const b of list ?? []) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}

export function listView(r: ContainerRecord, size: boolean): ContainerListItem {
  return {
    Id: r.Id, Names: [r.Name], Image: r.Config.Image, ImageID: r.ImageID, Command: command(r),
    Created: Math.floor(Date.parse(r.Created) / 1000), Ports: portsView(r), Labels: r.Config.Labels ?? {},
    State: r.State.Status, Status: statusText(r),
    ...(size ? { SizeRw: 0, SizeRootFs: 0 } : {}),
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'bridge' }, NetworkSettings: { Networks: networkSettingsView(r).Networks },
    Mounts: mountsView(r),
  };
}

export function labelMatch(labels: Record<string, string>, v: string): boolean {
  const eq = v.indexOf('=');
  return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
}

export interface FilterContext {
  /** an image reference's id, or undefined when it names no image */
  imageId(ref: string): string | undefined;
  container(ref: string): ContainerRecord;
}

const FILTER_KEYS = ['status', 'id', 'name', 'label', 'exited', 'ancestor', 'network', 'volume', 'publish', 'expose', 'before', 'since', 'health'];
const FILTER_VALUES: Record<string, string[]> = {
  status: ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'],
  health: ['starting', 'healthy', 'unhealthy', 'none'],
};

/** Refuses what dockerd refuses before looking at any container. */
export function checkFilters(f: Filters): void {
  for (const [key, values] of Object.entries(f)) {
    if (!FILTER_KEYS.includes(key)) throw invalid(`invalid filter '${key}'`);
    for (const v of values) {
      if (!FILTER_VALUES[key] || FILTER_VALUES[key].includes(v)) continue;
      throw invalid(key === 'status' ? `Invalid filter 'status=${v}'` : `Unrecognised filter value for ${key}: ${v}`);
    }
  }
}

/** `docker ps --filter`: every key must match; within a key any value (every value for labels). */
export function matchesFilters(r: ContainerRecord, f: Filters, ctx: FilterContext): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
    const ok = values[key === 'label' ? 'every' : 'some']((v) => {
      switch (key) {
        case 'status': return r.State.Status === v;
        case 'health': return healthOf(r) === v;
        case 'id': return r.Id.startsWith(v);
        case 'name': return r.Name.slice(1).includes(v.replace(/^\//, '')) || safeRegExp(v).test(r.Name.slice(1));
        case 'label': return labelMatch(r.Config.Labels ?? {}, v);
        case 'exited': return !r.State.Running && r.State.Status === 'exited' && r.State.ExitCode === Number(v);
        case 'ancestor': {
          const id = ctx.imageId(v);
          return id !== undefined ? id === r.ImageID : r.Config.Image === v;
        }
        case 'network': return Object.entries(r.NetworkSettings?.Networks ?? {}).some(([name, ep]) => name === v || ep.NetworkID.startsWith(v)) || r.HostConfig.NetworkMode === v;
        case 'volume': return (r.Mounts ?? []).some((m) => m.Name === v || m.Source === v || m.Destination === v);
        case 'publish': case 'expose': {
          const want = v.includes('/') ? v : `${v}/tcp`;
          if (key === 'expose') return want in (r.Config.ExposedPorts ?? {});
          return Object.values(r.NetworkSettings?.Ports ?? {}).some((l) => (l ?? []).some((b) => `${b.HostPort}/tcp` === want || `${b.HostPort}/udp` === want)) ||
            Object.entries(r.NetworkSettings?.Ports ?? {}).some(([k, l]) => k === want && !!l?.length);
        }
        case 'before': case 'since': {
          const other = ctx.container(v);
          return key === 'before' ? r.Created < other.Created : r.Created > other.Created;
        }
        default: throw invalid(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

function safeRegExp(v: string): RegExp {
  try {
    return new RegExp(v);
  } catch {
    return /(?!)/;
  }
}
