// The Docker API's shapes (from any backend) → the compact shapes of common/views.ts.
import type { ContainerInspect, EngineEvent, ImageSummary, NetworkView, VolumeView } from '../../common/docker.ts';
import type { ContainerSummary, EngineEventView, ImageView, NetworkSummary, PortView, VolumeSummary } from '../../common/views.ts';

const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const BRIDGE_NAME = 'com.docker.network.bridge.name';

export function containerSummary(c: ContainerInspect): ContainerSummary {
  return {
    id: c.Id, name: c.Name.replace(/^\//, ''), image: c.Config.Image, imageId: c.Image,
    command: [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    created: c.Created, state: c.State.Status, startedAt: c.State.StartedAt, finishedAt: c.State.FinishedAt,
    exitCode: c.State.ExitCode, oomKilled: c.State.OOMKilled, restartCount: c.RestartCount,
    labels: c.Config.Labels ?? {}, ports: portViews(c), tty: c.Config.Tty, memoryLimit: c.HostConfig.Memory ?? 0,
    ...healthView(c),
  };
}

function healthView(c: ContainerInspect): Pick<ContainerSummary, 'health'> {
  const h = c.State.Health;
  if (!h || !c.State.Running) return {};
  const last = h.Log.at(-1);
  return { health: { status: h.Status, failingStreak: h.FailingStreak, lastExitCode: last?.ExitCode, lastOutput: last?.Output.trim().slice(0, 300) } };
}

function portViews(c: ContainerInspect): PortView[] {
  if (!c.State.Running) return [];
  const out: PortView[] = [];
  for (const [key, list] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const [port, proto] = key.split('/');
    const type = proto === 'udp' ? 'udp' : 'tcp';
    if (!list?.length) out.push({ privatePort: Number(port), type });
    for (const b of list ?? []) out.push({ privatePort: Number(port), publicPort: Number(b.HostPort), ip: b.HostIp || '0.0.0.0', type });
  }
  return out;
}

export function imageView(i: ImageSummary): ImageView {
  return { id: i.Id, tags: i.RepoTags ?? [], digests: i.RepoDigests ?? [], size: i.Size, created: new Date(i.Created * 1000).toISOString(), containers: i.Containers };
}

export function eventView(e: EngineEvent): EngineEventView {
  const a = e.Actor.Attributes;
  return { type: e.Type, action: e.Action, id: e.Actor.ID, name: a.name ?? a.image ?? '', time: e.time };
}

export function networkSummary(n: NetworkView, containers: ContainerInspect[]): NetworkSummary {
  const builtin = ['bridge', 'host', 'none'].includes(n.Name);
  return {
    id: n.Id, name: n.Name, driver: n.Driver, subnet: n.IPAM.Config?.[0]?.Subnet ?? '', gateway: n.IPAM.Config?.[0]?.Gateway ?? '',
    internal: n.Internal, builtin, created: n.Created, labels: n.Labels ?? {}, device: n.Options?.[BRIDGE_NAME] ?? '',
    containers: containers.filter((c) => Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id) ||
      (['host', 'none'].includes(n.Name) && c.HostConfig.NetworkMode === n.Name)).map((c) => ({
      id: c.Id, name: c.Name.slice(1), running: c.State.Running,
      ip: Object.values(c.NetworkSettings?.Networks ?? {}).find((e) => e.NetworkID === n.Id)?.IPAddress ?? '',
    })),
  };
}

export function volumeSummary(v: VolumeView, containers: ContainerInspect[]): VolumeSummary {
  const labels = { ...(v.Labels ?? {}) };
  const anonymous = ANONYMOUS_LABEL in labels;
  delete labels[ANONYMOUS_LABEL];
  return {
    name: v.Name, created: v.CreatedAt, labels, anonymous, mountpoint: v.Mountpoint, options: v.Options ?? {},
    containers: containers.filter((c) => c.Mounts.some((m) => m.Type === 'volume' && m.Name === v.Name)).map((c) => ({ id: c.Id, name: c.Name.slice(1), running: c.State.Running })),
  };
}
