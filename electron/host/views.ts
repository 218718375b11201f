// Engine records → the compact shapes of common/views.ts.
import type { ContainerSummary, EngineEventView, ImageView, NetworkSummary, PortView, VolumeSummary } from '../../common/views.ts';
import type { EngineEvent } from '../engine/events/eventBus.ts';
import type { ContainerRecord } from '../engine/containers/containerRecord.ts';
import type { Engine } from '../engine/engine.ts';

export function containerSummary(r: ContainerRecord): ContainerSummary {
  return {
    id: r.Id, name: r.Name.replace(/^\//, ''), image: r.Config.Image, imageId: r.ImageID,
    command: [r.Path, ...r.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    created: r.Created, state: r.State.Status, startedAt: r.State.StartedAt, finishedAt: r.State.FinishedAt,
    exitCode: r.State.ExitCode, oomKilled: r.State.OOMKilled, restartCount: r.RestartCount,
    labels: r.Config.Labels ?? {}, ports: portViews(r), tty: r.Config.Tty, memoryLimit: r.HostConfig.Memory ?? 0,
  };
}

export function imageViews(engine: Engine): ImageView[] {
  return engine.listImages({ sharedSize: false }).map((i) => ({
    id: i.Id, tags: i.RepoTags, digests: i.RepoDigests, size: i.Size,
    created: new Date(i.Created * 1000).toISOString(), containers: i.Containers,
  }));
}

export function eventView(e: EngineEvent): EngineEventView {
  const a = e.Actor.Attributes;
  return { type: e.Type, action: e.Action, id: e.Actor.ID, name: a.name ?? a.image ?? '', time: e.time };
}

function portViews(r: ContainerRecord): PortView[] {
  if (!r.State.Running) return [];
  const out: PortView[] = [];
  for (const [key, list] of Object.entries(r.NetworkSettings?.Ports ?? {})) {
    const [port, proto] = key.split('/');
    const type = proto === 'udp' ? 'udp' : 'tcp';
    if (!list?.length) out.push({ privatePort: Number(port), type });
    for (const b of list ?? []) out.push({ privatePort: Number(port), publicPort: Number(b.HostPort), ip: b.HostIp || '0.0.0.0', type });
  }
  return out;
}

export function networkViews(engine: Engine): NetworkSummary[] {
  const all = engine.containers.list(true);
  return engine.networks.list().map((n) => ({
    id: n.Id, name: n.Name, driver: n.Driver, subnet: n.IPAM.Config[0]?.Subnet ?? '', gateway: n.IPAM.Config[0]?.Gateway ?? '',
    internal: n.Internal, builtin: ['bridge', 'host', 'none'].includes(n.Name), created: n.Created, labels: n.Labels, device: n.device ?? '',
    containers: all.filter((c) => Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id) ||
      (['host', 'none'].includes(n.Name) && c.HostConfig.NetworkMode === n.Name)).map((c) => ({
      id: c.Id, name: c.Name.slice(1), running: c.State.Running,
      ip: Object.values(c.NetworkSettings?.Networks ?? {}).find((e) => e.NetworkID === n.Id)?.IPAddress ?? '',
    })),
  }));
}

export function volumeViews(engine: Engine): VolumeSummary[] {
  return engine.volumes.list().map((v) => ({
    name: v.Name, created: v.CreatedAt, labels: v.Labels, anonymous: v.anonymous, mountpoint: engine.volumes.dataDir(v.Name),
    options: v.Options, containers: engine.volumes.users(v.Name).map((c) => ({ id: c.Id, name: c.Name.slice(1), running: c.State.Running })),
  }));
}
