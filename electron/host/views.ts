// Engine records → the compact shapes of common/views.ts.
import type { ContainerSummary, EngineEventView, ImageView } from '../../common/views.ts';
import type { EngineEvent } from '../engine/events/eventBus.ts';
import type { ContainerRecord } from '../engine/containers/containerRecord.ts';
import type { Engine } from '../engine/engine.ts';

export function containerSummary(r: ContainerRecord): ContainerSummary {
  return {
    id: r.Id, name: r.Name.replace(/^\//, ''), image: r.Config.Image, imageId: r.ImageID,
    command: [r.Path, ...r.Args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '),
    created: r.Created, state: r.State.Status, startedAt: r.State.StartedAt, finishedAt: r.State.FinishedAt,
    exitCode: r.State.ExitCode, oomKilled: r.State.OOMKilled, restartCount: r.RestartCount,
    labels: r.Config.Labels ?? {}, ports: [], tty: r.Config.Tty, memoryLimit: r.HostConfig.Memory ?? 0,
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
