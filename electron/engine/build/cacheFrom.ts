// The build cache's keys, and --cache-from for images with no local chain (pulled, loaded): a
// step matches a listed image's history where this stage's image is a prefix of it (the same
// history and layers) and the next entry is this step's. Berth's own images say so by the
// step's cache key in the entry's comment; an image another builder made (dockerd's classic
// builder) by the entry's created_by, which Berth writes as dockerd does (historyText.ts,
// dockerdHash.ts), as dockerd itself matches. The image is made again here: this step's
// config with the prefix's layers plus the step's own layer, and the entry.
import { createHash } from 'node:crypto';
import type { Engine } from '../engine.ts';
import type { ImageConfig } from '../images/imageStore.ts';

const COMMENT = 'berth.cache.v1:';

/** A step's cache key as its history entry carries it. */
export function cacheComment(key: string): string {
  return `${COMMENT}${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/** The index key of a step's result: its parent image and its cache key. */
export function keyOf(parent: string, key: string): string {
  return createHash('sha256').update(JSON.stringify([parent, key])).digest('hex');
}

interface StepState {
  imageId: string;
  config: ImageConfig;
}

export async function restoreFrom(e: Engine, cacheFrom: string[] | undefined, st: StepState, step: { key: string; createdBy?: () => string }): Promise<string | undefined> {
  if (!cacheFrom?.length || !st.imageId) return undefined;
  const tag = cacheComment(step.key);
  const parent = e.images.get(st.imageId).config;
  const ph = parent.history ?? [];
  const pd = parent.rootfs.diff_ids;
  let createdBy: string | undefined;
  for (const ref of cacheFrom) {
    let src: ImageConfig;
    try {
      src = e.images.get(e.images.resolveId(ref)).config;
    } catch {
      continue; // a missing image is skipped
    }
    const h = src.history ?? [];
    const next = h[ph.length];
    if (!next) continue;
    if (next.comment?.startsWith(COMMENT)) {
      if (next.comment !== tag) continue;
    } else {
      createdBy ??= step.createdBy?.();
      if (createdBy === undefined || next.created_by !== createdBy) continue;
    }
    if (!ph.every((x, i) => h[i].created_by === x.created_by && !h[i].empty_layer === !x.empty_layer) || !pd.every((d, i) => src.rootfs.diff_ids[i] === d)) continue;
    const layers = [...pd];
    if (!next.empty_layer) {
      const d = src.rootfs.diff_ids[pd.length];
      if (!d) continue;
      layers.push(d);
    }
    const config: ImageConfig = { ...structuredClone(st.config), created: next.created, rootfs: { type: 'layers', diff_ids: layers }, history: [...ph, next] };
    const img = await e.storeImage(config, { parent: st.imageId, buildKey: keyOf(st.imageId, step.key) });
    return img.id;
  }
  return undefined;
}
