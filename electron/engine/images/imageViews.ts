// Docker-shaped views of images: list entries, inspect, history, and the image part of
// `system df`. Sizes are unpacked bytes, as Docker reports them.
import type { HistoryEntry, ImageSummary } from '../../../common/docker.ts';
import type { Image } from './imageStore.ts';
import type { LocalImageStore } from './localImageStore.ts';

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000) || 0;

/** Bytes of an image's layers that other images also use. */
function sharedSizes(images: Image[]): Map<string, number> {
  const users = new Map<string, number>();
  for (const img of images) for (const d of new Set(img.layers.map((l) => l.diffId))) users.set(d, (users.get(d) ?? 0) + 1);
  const out = new Map<string, number>();
  for (const img of images) out.set(img.id, img.layers.filter((l) => (users.get(l.diffId) ?? 0) > 1).reduce((s, l) => s + l.size, 0));
  return out;
}

export function imageSummaries(images: Image[], containersOf: (id: string) => number, withShared = true): ImageSummary[] {
  const shared = withShared ? sharedSizes(images) : undefined;
  return images
    .map((img) => ({
      Id: img.id,
      ParentId: '',
      RepoTags: img.repoTags,
      RepoDigests: img.repoDigests,
      Created: unix(img.created),
      Size: img.size,
      SharedSize: shared?.get(img.id) ?? -1,
      VirtualSize: img.size,
      Labels: img.config.config.Labels ?? {},
      Containers: containersOf(img.id),
    }))
    .sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
}

export function imageInspect(store: LocalImageStore, img: Image) {
  const c = img.config;
  return {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: img.created,
    DockerVersion: '',
    Author: c.author ?? '',
    Config: {
      Hostname: '', Domainname: '', User: c.config.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
      ExposedPorts: c.config.ExposedPorts ?? null, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: c.config.Env ?? null, Cmd: c.config.Cmd ?? null, Image: '', Volumes: c.config.Volumes ?? null,
      WorkingDir: c.config.WorkingDir ?? '', Entrypoint: c.config.Entrypoint ?? null, OnBuild: null,
      Labels: c.config.Labels ?? null, ...(c.config.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
      ...(c.config.Healthcheck ? { Healthcheck: c.config.Healthcheck } : {}),
    },
    Architecture: c.architecture,
    ...((c as { variant?: string }).variant ? { Variant: (c as { variant?: string }).variant } : {}),
    Os: c.os,
    Size: img.size,
    VirtualSize: img.size,
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: img.layerDirs.slice(0, -1).reverse().join(':') || undefined,
        UpperDir: img.layerDirs.at(-1),
        MergedDir: undefined,
        WorkDir: undefined,
      },
    },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    Descriptor: store.record(img.id)?.manifest,
  };
}

/** Newest first; the top entry carries the image id and tags, older ones "<missing>" as Docker shows for pulled images. */
export function imageHistory(img: Image): HistoryEntry[] {
  const history = img.config.history?.length
    ? img.config.history
    : img.layers.map(() => ({ created: img.created, created_by: '', comment: '', empty_layer: false }));
  let layer = 0;
  const rows = history.map((h) => {
    const size = h.empty_layer ? 0 : (img.layers[layer++]?.size ?? 0);
    return { Id: '<missing>', Created: unix(h.created ?? img.created), CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '' };
  });
  rows.reverse();
  if (rows.length) {
    rows[0].Id = img.id;
    rows[0].Tags = img.repoTags.length ? img.repoTags : null;
  }
  return rows;
}

export type { HistoryEntry, ImageSummary };
