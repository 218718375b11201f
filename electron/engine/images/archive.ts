// `docker save` / `docker load`. Save writes the format Docker 25+ writes: an OCI image layout
// (oci-layout, index.json, blobs/sha256/…) that also carries Docker's manifest.json and
// repositories, with uncompressed layers named by their diff ids, so image ids and layer digests
// survive a round trip. Load reads that, the older Docker layout (<id>/layer.tar, <hex>.json),
// and plain OCI layouts (directory or tar), with compressed or plain layers.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { familiarName, formatReference, parseReference } from '../../../common/reference.ts';
import { EngineError, invalid } from '../errors.ts';
import { sha256 } from './contentStore.ts';
import type { ImageConfig } from './imageStore.ts';
import { MEDIA, normalizeName, type LocalImageStore } from './localImageStore.ts';
import { selectPlatform, hostPlatform } from './distribution/pull.ts';
import { cleanEntryPath } from './tar/layerWriter.ts';
import { TAR_END, tarHeader, tarPadding } from './tarWriter.ts';

interface SaveItem {
  id: string;
  tags: string[];
}

function resolveSaveRefs(store: LocalImageStore, refs: string[]): SaveItem[] {
  const byId = new Map<string, SaveItem>();
  for (const r of refs) {
    const id = store.resolveId(r);
    const item = byId.get(id) ?? { id, tags: [] };
    byId.set(id, item);
    // Saved by name: that name goes with it; by id: no name, as Docker does.
    const hex = r.replace(/^sha256:/, '');
    if (!/^[a-f0-9]{1,64}$/.test(hex) || id !== store.resolveId(hex)) {
      const name = normalizeName(r);
      if (!name.includes('@') && !item.tags.includes(name)) item.tags.push(name);
    }
  }
  return [...byId.values()];
}

function layerStream(store: LocalImageStore, diffId: string): Readable {
  const rec = store.layer(diffId);
  if (!rec) throw new EngineError('INTERNAL', `layer ${diffId} is missing from the store`);
  const raw = rec.blobs.find((b) => b.mediaType === MEDIA.ociLayer || b.mediaType === 'application/vnd.docker.image.rootfs.diff.tar');
  if (raw && store.content.has(raw.digest)) return store.content.stream(raw.digest);
  const gz = rec.blobs.find((b) => (b.mediaType === MEDIA.dockerLayerGzip || b.mediaType === MEDIA.ociLayerGzip) && store.content.has(b.digest));
  if (gz) return store.content.stream(gz.digest).pipe(createGunzip());
  throw invalid(`layer ${diffId} is stored only in a form this runtime cannot decompress`);
}

/** Streams a `docker save` archive of the given images. */
export function saveImages(store: LocalImageStore, refs: string[]): Readable {
  if (!refs.length) throw invalid('save needs at least one image');
  const items = resolveSaveRefs(store, refs);
  async function* gen(): AsyncGenerator<Buffer> {
    const dir = (name: string) => tarHeader({ name, type: 'dir', mode: 0o755 });
    const file = function* (name: string, data: Buffer) {
      yield tarHeader({ name, type: 'file', mode: 0o644, data });
      yield data;
      yield tarPadding(data.length);
    };
    yield dir('blobs/');
    yield dir('blobs/sha256/');
    const written = new Set<string>();
    const dockerManifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const index: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const item of items) {
      const config = store.config(item.id);
      for (const diffId of config.rootfs.diff_ids) {
        if (written.has(diffId)) continue;
        written.add(diffId);
        const rec = store.layer(diffId)!;
        yield tarHeader({ name: `blobs/sha256/${diffId.slice(7)}`, type: 'file', mode: 0o644, size: rec.tarSize });
        let n = 0;
        for await (const chunk of layerStream(store, diffId)) {
          n += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (n !== rec.tarSize) throw new EngineError('INTERNAL', `layer ${diffId}: stored archive is ${n} bytes, expected ${rec.tarSize}`);
        yield tarPadding(n);
      }
      const cfg = store.content.read(item.id);
      if (!written.has(item.id)) {
        written.add(item.id);
        yield* file(`blobs/sha256/${item.id.slice(7)}`, cfg);
      }
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: item.id, size: cfg.length },
        layers: config.rootfs.diff_ids.map((d) => ({ mediaType: MEDIA.ociLayer, digest: d, size: store.layer(d)!.tarSize })),
      }));
      const mdigest = sha256(manifest);
      if (!written.has(mdigest)) {
        written.add(mdigest);
        yield* file(`blobs/sha256/${mdigest.slice(7)}`, manifest);
      }
      const tags = item.tags.map((t) => parseReference(t));
      if (tags.length === 0) index.push({ mediaType: MEDIA.ociManifest, digest: mdigest, size: manifest.length });
      for (const t of tags) {
        index.push({
          mediaType: MEDIA.ociManifest, digest: mdigest, size: manifest.length,
          annotations: { 'io.containerd.image.name': formatReference(t), 'org.opencontainers.image.ref.name': t.tag ?? 'latest' },
        });
        const repo = familiarName({ ...t, tag: undefined });
        (repositories[repo] ??= {})[t.tag ?? 'latest'] = config.rootfs.diff_ids.at(-1)?.slice(7) ?? item.id.slice(7);
      }
      dockerManifest.push({
        Config: `blobs/sha256/${item.id.slice(7)}`,
        RepoTags: tags.length ? tags.map((t) => familiarName(t)) : null,
        Layers: config.rootfs.diff_ids.map((d) => `blobs/sha256/${d.slice(7)}`),
      });
    }
    yield* file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index })));
    yield* file('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
    yield* file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    if (Object.keys(repositories).length) yield* file('repositories', Buffer.from(JSON.stringify(repositories)));
    yield TAR_END;
  }
  return Readable.from(gen(), { objectMode: false });
}

export interface LoadResult {
  images: { id: string; tags: string[] }[];
  /** Docker's lines: "Loaded image: busybox:latest" / "Loaded image ID: sha256:…" */
  messages: string[];
}

interface LoadEntry {
  configPath: string;
  layers: { path: string }[];
  tags: string[];
}

function inside(dir: string, rel: string, what: string): string {
  let clean: string;
  try {
    clean = cleanEntryPath(rel);
  } catch {
    throw invalid(`${what}: path ${JSON.stringify(rel)} points outside the archive`);
  }
  const p = `${dir}/${clean}`;
  if (!existsSync(p)) throw invalid(`${what}: ${JSON.stringify(rel)} is missing from the archive`);
  const real = realpathSync(p);
  const root = realpathSync(dir);
  if (real !== root && !real.startsWith(`${root}/`)) throw invalid(`${what}: ${JSON.stringify(rel)} points outside the archive`);
  if (!statSync(real).isFile()) throw invalid(`${what}: ${JSON.stringify(rel)} is not a file`);
  return real;
}

function readJsonIn<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

interface OciDesc {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

function blobPath(dir: string, digest: string, what: string): string {
  const m = /^(sha256):([a-f0-9]{64})$/.exec(digest);
  if (!m) throw invalid(`${what}: invalid digest ${JSON.stringify(digest)}`);
  return inside(dir, `blobs/${m[1]}/${m[2]}`, what);
}

function entriesFromOciLayout(dir: string): LoadEntry[] {
  const index = readJsonIn<{ manifests?: OciDesc[] }>(inside(dir, 'index.json', 'index.json'), 'index.json');
  const out: LoadEntry[] = [];
  const visit = (desc: OciDesc, names: string[]) => {
    const body = readJsonIn<{ manifests?: OciDesc[]; config?: OciDesc; layers?: OciDesc[] }>(blobPath(dir, desc.digest, 'index.json'), `manifest ${desc.digest}`);
    if (body.manifests) {
      const pick = selectPlatform(body.manifests.map((m) => ({ ...m, mediaType: m.mediaType ?? '', size: m.size ?? 0 })), hostPlatform());
      if (!pick) throw invalid(`the archive has no image for ${hostPlatform().os}/${hostPlatform().architecture}`);
      visit(pick, names);
      return;
    }
    if (!body.config || !body.layers) throw invalid(`manifest ${desc.digest} has no config or layers`);
    out.push({ configPath: blobPath(dir, body.config.digest, 'config'), layers: body.layers.map((l) => ({ path: blobPath(dir, l.digest, `layer ${l.digest}`) })), tags: names });
  };
  for (const m of index.manifests ?? []) {
    const a = m.annotations ?? {};
    const full = a['io.containerd.image.name'];
    const refName = a['org.opencontainers.image.ref.name'];
    const names: string[] = [];
    if (full) names.push(full);
    else if (refName && !/^[\w][\w.-]{0,127}$/.test(refName)) names.push(refName);
    visit(m, names);
  }
  return out;
}

/** Finds the images in an extracted archive or an OCI layout directory. */
function findEntries(dir: string): LoadEntry[] {
  if (existsSync(`${dir}/manifest.json`)) {
    const m = readJsonIn<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }[]>(inside(dir, 'manifest.json', 'manifest.json'), 'manifest.json');
    if (!Array.isArray(m)) throw invalid('manifest.json is not a list of images');
    return m.map((e, i) => {
      if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw invalid(`manifest.json entry ${i} has no Config or Layers`);
      return { configPath: inside(dir, e.Config, 'manifest.json'), layers: e.Layers.map((l) => ({ path: inside(dir, l, 'manifest.json') })), tags: e.RepoTags ?? [] };
    });
  }
  if (existsSync(`${dir}/index.json`)) return entriesFromOciLayout(dir);
  throw invalid('not an image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)');
}

async function loadEntries(store: LocalImageStore, dir: string): Promise<LoadResult> {
  const entries = findEntries(dir);
  if (!entries.length) throw invalid('the archive holds no images');
  const pinned: string[] = [];
  const result: LoadResult = { images: [], messages: [] };
  try {
    const staged: { id: string; tags: string[] }[] = [];
    for (const e of entries) {
      const raw = readFileSync(e.configPath);
      let config: ImageConfig;
      try {
        config = JSON.parse(raw.toString('utf8')) as ImageConfig;
      } catch {
        throw invalid('image config in the archive is not valid JSON');
      }
      const diffIds = config.rootfs?.diff_ids;
      if (!Array.isArray(diffIds) || diffIds.length !== e.layers.length) {
        throw invalid(`image config lists ${diffIds?.length ?? 0} layers but the archive has ${e.layers.length}`);
      }
      for (const t of e.tags) normalizeName(t);
      for (let i = 0; i < e.layers.length; i++) {
        if (store.layer(diffIds[i])) continue;
        const blob = await store.content.write(createReadStream(e.layers[i].path));
        pinned.push(blob.digest);
        store.pin([blob.digest]);
        const mediaType = store.mediaTypeOf(blob.digest);
        await store.unpackBlob({ digest: blob.digest, size: blob.size, mediaType }, diffIds[i], `layer ${i + 1} (${diffIds[i]})`);
      }
      const id = await store.content.put(raw);
      pinned.push(id);
      store.pin([id]);
      staged.push({ id, tags: e.tags });
    }
    // Every image is complete before any gets a name.
    for (const s of staged) {
      const img = store.register(s.id, { tags: s.tags });
      result.images.push({ id: s.id, tags: img.repoTags });
      if (s.tags.length) for (const t of s.tags) result.messages.push(`Loaded image: ${familiarName(parseReference(t))}`);
      else result.messages.push(`Loaded image ID: ${s.id}`);
    }
    return result;
  } finally {
    store.unpin(pinned);
    if (!result.images.length) store.gc();
  }
}

/** `docker load`: an archive stream (plain or gzip tar). */
export async function loadImages(store: LocalImageStore, input: Readable): Promise<LoadResult> {
  const work = `${store.root}/tmp/load-${randomBytes(6).toString('hex')}`;
  mkdirSync(work, { recursive: true, mode: 0o700 });
  try {
    const archive = await store.content.write(input).catch((e: Error) => {
      throw invalid(`load: cannot read the archive: ${e.message}`);
    });
    const src = store.content.path(archive.digest);
    mkdirSync(`${work}/x`);
    try {
      await store.pool.run({ src, dest: `${work}/x`, mode: 'plain', chown: false });
    } catch (e) {
      throw invalid(`load: ${(e as Error).message}`);
    } finally {
      // The archive itself is not content anyone refers to.
      if (!store.layerForBlob(archive.digest)) store.content.delete(archive.digest);
    }
    return await loadEntries(store, `${work}/x`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Loads an OCI image layout directory. */
export function loadOciLayout(store: LocalImageStore, dir: string): Promise<LoadResult> {
  if (!existsSync(`${dir}/index.json`)) return Promise.reject(invalid(`${dir} is not an OCI image layout (no index.json)`));
  return loadEntries(store, dir);
}
