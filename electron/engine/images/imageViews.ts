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
      ParentId: img.parent ?? '',
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
    Parent: img.parent ?? '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: img.created,
    DockerVersion: '',
    Author: c.author ?? '',
    Config: {
      Hostname: '', Domainname: '', User: c.config.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
      ExposedPorts: c.config.ExposedPorts ?? null, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: c.config.Env ?? null, Cmd: c.config.Cmd ?? null, Image: '', Volumes: c.config.Volumes ?? null,
      WorkingDir: c.config.WorkingDir ?? '', Entrypoint: c.config.Entrypoint ?? null, OnBuild: c.config.OnBuild ?? null,
      Labels: c.config.Labels ?? null, ...(c.config.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
      ...(c.config.Healthcheck ? { Healthcheck: c.config.Healthcheck } : {}),
      ...(c.config.Shell ? { Shell: c.config.Shell } : {}),
      ...(c.config.ArgsEscaped ? { ArgsEscaped: true } : {}),
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

/**
 * Newest first; the top entry carries the image id and tags. Older ones are "<missing>" as
 * Docker shows for pulled images, or the local build step that made them (`chain`: the image's
 * parents, nearest first).
 */
export function imageHistory(img: Image, chain: Image[] = []): HistoryEntry[] {
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
  // A parent with one history entry fewer made the row below; it must agree on what came before.
  let row = 1;
  for (const p of chain) {
    const n = p.config.history?.length ?? 0;
    if (n !== history.length - row || row >= rows.length) break;
    rows[row].Id = p.id;
    rows[row].Tags = p.repoTags.length ? p.repoTags : null;
    row++;
  }
  return rows;
}

export type { HistoryEntry, ImageSummary };
