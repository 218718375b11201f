// Local image store.
//   blobs/sha256/<hex>           configs, manifests and layer archives, by digest (ContentStore)
//   layers/<diffhex>/            one unpacked directory per layer, for the overlay snapshotter
//   layers/<diffhex>.json        {diffId, size, tarSize, blobs: [archives that unpack to it]}
//   images/by-id/<hex>.json      one record per image (its id is its config's digest)
//   images/repositories.json     {tags: name → id, digests: name@digest → id}
// Write order makes every crash point safe: blobs, then layers, then the image record, then
// names. On open, anything a crash left half-done is dropped.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { familiarName, formatReference, parseReference, ReferenceError } from '../../../common/reference.ts';
import { EngineError, conflict, invalid, notFound } from '../errors.ts';
import { ContentStore, DIGEST_RE, type IngestTap } from './contentStore.ts';
import type { Image, ImageConfig, ImageStore, ImportOptions } from './imageStore.ts';
import { FollowFeed, UnpackPool, type UnpackFailure } from './tar/unpackPool.ts';
import type { UnpackResult } from './tar/unpackFile.ts';

export const HOST_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', ia32: '386' };
export const hostArch = (): string => HOST_ARCH[process.arch] ?? process.arch;
/** similar-keys remembered for importLayer (the newest kept) */
const SIMILAR_KEEP = 512;

/** What a similar-key made last: the layer, and what it held (importLayer). */
interface SimilarMade {
  diffId: string;
  content?: string;
}
/** Where a layer directory's index of regular files is kept (see LayerFiles), beside it. */
const indexOf = (dir: string) => `${dir}.files`;

export interface BlobRef {
  digest: string;
  mediaType: string;
  size: number;
}

export interface LayerRecord {
  diffId: string;
  /** bytes of regular files once unpacked */
  size: number;
  /** bytes of the uncompressed tar (its digest is the diff id) */
  tarSize: number;
  /** stored archives that unpack to this layer (compressed or not) */
  blobs: BlobRef[];
  /** repositories (domain/path) known to hold each blob, for cross-repository mounts */
  sources?: Record<string, string[]>;
}

export interface ImageRecord {
  id: string;
  /** the manifest it was pulled or pushed with, when it came from a registry */
  manifest?: BlobRef;
  loadedAt: string;
  lastTagTime?: string;
  /** the image it was built or committed on (Docker's Parent), for local builds only */
  parent?: string;
  /** what the build step that made it was, for the build cache to find it (build/cache.ts) */
  buildKey?: string;
}

/** An unpack reading a blob's file while it is still written: the file, its growth, and the write's end. */
interface Following {
  fd: number;
  feed: FollowFeed;
  downloaded: Promise<unknown>;
}

interface Index {
  tags: Record<string, string>;
  digests: Record<string, string>;
}

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

export function normalizeName(ref: string): string {
  try {
    return formatReference(parseReference(ref));
  } catch (e) {
    if (e instanceof ReferenceError) throw invalid(e.message);
    throw e;
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class LocalImageStore implements ImageStore {
  readonly content: ContentStore;
  readonly pool = new UnpackPool();
  private readonly layersDir: string;
  private readonly recordsDir: string;
  private readonly indexFile: string;
  private index: Index;
  /** in-flight unpacks by blob digest, so concurrent pulls unpack a shared layer once */
  private readonly unpacking = new Map<string, Promise<LayerRecord>>();
  /** blob digest → diff id, for "Already exists" */
  private readonly blobToLayer = new Map<string, string>();
  /** blob downloads in flight, so concurrent pulls fetch a shared blob once */
  private readonly downloads = new Map<string, Promise<void>>();
  /** digests a running pull/load still needs: garbage collection leaves them alone */
  readonly pinned = new Map<string, number>();

  constructor(readonly root: string) {
    this.content = new ContentStore(root);
    this.layersDir = `${root}/layers`;
    this.recordsDir = `${root}/images/by-id`;
    this.indexFile = `${root}/images/repositories.json`;
    mkdirSync(this.layersDir, { recursive: true });
    mkdirSync(this.recordsDir, { recursive: true });
    const raw = readJson<Partial<Index> & Record<string, unknown>>(this.indexFile) ?? {};
    this.index = { tags: (raw.tags as Record<string, string>) ?? {}, digests: (raw.digests as Record<string, string>) ?? {} };
    this.recover();
  }

  /** Drops what a crash left half-done: temp dirs, layers without metadata, records without content, names without records. */
  private recover(): void {
    rmSync(`${this.root}/tmp`, { recursive: true, force: true });
    const entries = readdirSync(this.layersDir);
    const names = new Set(entries);
    for (const e of entries) {
      if (e.startsWith('.tmp-') || e.includes('.json.tmp-')) rmSync(`${this.layersDir}/${e}`, { recursive: true, force: true });
      else if (/^[a-f0-9]{64}$/.test(e) && !names.has(`${e}.json`)) rmSync(`${this.layersDir}/${e}`, { recursive: true, force: true });
      else if (/^[a-f0-9]{64}\.json$/.test(e) && !names.has(e.slice(0, -5))) rmSync(`${this.layersDir}/${e}`, { force: true });
    }
    for (const f of readdirSync(this.layersDir)) {
      if (!f.endsWith('.json')) continue;
      const rec = readJson<LayerRecord>(`${this.layersDir}/${f}`);
      for (const b of rec?.blobs ?? []) this.blobToLayer.set(b.digest, rec!.diffId);
    }
    for (const f of readdirSync(this.recordsDir)) {
      if (!/^[a-f0-9]{64}\.json$/.test(f)) {
        rmSync(`${this.recordsDir}/${f}`, { force: true });
        continue;
      }
      const id = `sha256:${f.slice(0, -5)}`;
      if (!this.complete(id)) rmSync(`${this.recordsDir}/${f}`, { force: true });
    }
    let changed = false;
    for (const map of [this.index.tags, this.index.digests]) {
      for (const [name, id] of Object.entries(map)) {
        if (!existsSync(this.recordPath(id))) {
          delete map[name];
          changed = true;
        }
      }
    }
    if (changed) this.saveIndex();
  }

  private complete(id: string): boolean {
    if (!this.content.has(id)) return false;
    const config = readJson<ImageConfig>(this.content.path(id));
    return !!config?.rootfs?.diff_ids?.every((d) => this.layer(d));
  }

  // ---- layers ----

  layerDir(diffId: string): string {
    return `${this.layersDir}/${diffId.replace(/^sha256:/, '')}`;
  }

  layer(diffId: string): LayerRecord | undefined {
    if (!DIGEST_RE.test(diffId)) return undefined;
    const rec = readJson<LayerRecord>(`${this.layerDir(diffId)}.json`);
    return rec && existsSync(this.layerDir(diffId)) ? rec : undefined;
  }

  /**
   * A stored layer's size, read once: a layer's content never changes under its diff id (a
   * removed one is forgotten). 0 for a layer not stored. Image lookups read only this of each
   * layer, so a cached build step does not read every layer record of its image.
   */
  private layerSize(diffId: string): number {
    let size = this.layerSizes.get(diffId);
    if (size === undefined) {
      size = this.layer(diffId)?.size;
      if (size === undefined) return 0;
      this.layerSizes.set(diffId, size);
    }
    return size;
  }

  private readonly layerSizes = new Map<string, number>();

  /** The diff id an archive blob unpacks to, when it is already unpacked here. */
  layerForBlob(digest: string): LayerRecord | undefined {
    const diffId = this.blobToLayer.get(digest);
    return diffId ? this.layer(diffId) : undefined;
  }

  private saveLayer(rec: LayerRecord): void {
    writeJsonAtomic(`${this.layerDir(rec.diffId)}.json`, rec);
    for (const b of rec.blobs) this.blobToLayer.set(b.digest, rec.diffId);
  }

  /** Records that a blob is known to exist in a registry repository (domain/path). */
  addSource(diffId: string, digest: string, repo: string): void {
    const rec = this.layer(diffId);
    if (!rec) return;
    const list = (rec.sources ??= {})[digest] ?? [];
    if (list.includes(repo)) return;
    rec.sources[digest] = [...list, repo].slice(-8);
    this.saveLayer(rec);
  }

  /** Adds another stored archive form of a layer (e.g. the gzip made for a push). */
  addLayerBlob(diffId: string, blob: BlobRef): void {
    const rec = this.layer(diffId);
    if (!rec || rec.blobs.some((b) => b.digest === blob.digest)) return;
    rec.blobs.push(blob);
    this.saveLayer(rec);
  }

  /**
   * Unpacks a stored archive blob into its layer directory (once, however many callers ask),
   * checking the result against the diff id the image config expects.
   */
  unpackBlob(blob: BlobRef, expectedDiffId?: string, what = `layer ${blob.digest}`): Promise<LayerRecord> {
    const known = this.layerForBlob(blob.digest);
    if (known && (!expectedDiffId || known.diffId === expectedDiffId)) return Promise.resolve(known);
    const running = this.unpacking.get(blob.digest);
    if (running) return running;
    const p = this.doUnpack(blob, expectedDiffId, what).finally(() => this.unpacking.delete(blob.digest));
    this.unpacking.set(blob.digest, p);
    return p;
  }

  /**
   * Downloads a layer's blob and unpacks it while the bytes arrive, each once per digest
   * however many pulls want it. The layer gets its name only once the blob's digest and the
   * unpacked content's diff id have both been checked. When following the download goes
   * wrong (the transfer started over), the finished blob is unpacked from its file instead.
   */
  fetchLayer(blob: BlobRef, diffId: string, what: string, fetchIt: (tap?: IngestTap) => Promise<void>): Promise<LayerRecord> {
    if (this.content.has(blob.digest) || this.downloads.has(blob.digest) || this.unpacking.has(blob.digest)) {
      return this.download(blob.digest, () => fetchIt()).then(() => this.unpackBlob(blob, diffId, what));
    }
    const feed = new FollowFeed();
    let fd: number | undefined;
    let followed: Promise<LayerRecord> | undefined;
    const started: { download?: Promise<void> } = {};
    const tap: IngestTap = {
      // Called from inside fetchBlob after its first await, so the download promise is set by then.
      opened: (path, offset) => {
        if (fd !== undefined) return feed.abort('the download started over');
        fd = openSync(path, 'r');
        if (offset) feed.grow(offset);
        const follow = { fd, feed, downloaded: started.download! };
        followed = this.doUnpack(blob, diffId, what, follow).finally(() => closeSync(follow.fd));
        followed.catch(() => undefined);
      },
      wrote: (size) => feed.grow(size),
    };
    const downloaded = (started.download = this.download(blob.digest, () => fetchIt(tap)));
    const p = (async () => {
      try {
        await downloaded;
      } catch (e) {
        feed.abort('the download failed');
        await followed?.catch(() => undefined);
        throw e;
      }
      feed.end(blob.size);
      if (followed) {
        try {
          return await followed;
        } catch (e) {
          if ((e as { aborted?: boolean }).aborted !== true) throw e;
        }
      }
      return this.doUnpack(blob, diffId, what);
    })().finally(() => this.unpacking.delete(blob.digest));
    this.unpacking.set(blob.digest, p);
    return p;
  }

  private async doUnpack(blob: BlobRef, expectedDiffId: string | undefined, what: string, follow?: Following, link?: { from?: string }): Promise<LayerRecord> {
    if (expectedDiffId) {
      const have = this.layer(expectedDiffId);
      if (have && have.blobs.some((b) => b.digest === blob.digest)) return have;
    }
    const tmp = this.unpackTarget();
    try {
      const r = await this.runUnpack(this.content.path(blob.digest), tmp, what, follow, link);
      if (follow) await follow.downloaded; // the blob checked out before the layer is named
      if (expectedDiffId && r.diffId !== expectedDiffId) {
        throw invalid(`${what}: its content (diff id ${r.diffId}) does not match the image config (${expectedDiffId})`);
      }
      return await this.nameLayer(tmp, r, blob);
    } catch (e) {
      await this.dropUnpacked(tmp);
      throw e;
    }
  }

  /** A new directory to unpack a layer into, named by its diff id once that is known. */
  private unpackTarget(): string {
    const tmp = `${this.layersDir}/.tmp-${randomBytes(8).toString('hex')}`;
    mkdirSync(tmp, 0o755);
    return tmp;
  }

  private async dropUnpacked(tmp: string): Promise<void> {
    await rm(tmp, { recursive: true, force: true });
    rmSync(indexOf(tmp), { force: true });
  }

  /** Unpacks an archive file (or one still being written, when followed) into `tmp`, on the pool. */
  private async runUnpack(src: string, tmp: string, what: string, follow?: Following, link?: { from?: string }): Promise<UnpackResult> {
    const from = link?.from ? this.layerDir(link.from) : undefined;
    const job = {
      src, dest: tmp, mode: 'overlay' as const, chown: process.getuid?.() === 0, followFd: follow?.fd,
      ...(link ? { indexFile: indexOf(tmp), like: from && existsSync(indexOf(from)) ? { dir: from, index: indexOf(from) } : undefined } : {}),
    };
    try {
      return await this.pool.run(job, follow?.feed);
    } catch (e) {
      const f = e as UnpackFailure;
      if (f.kind === 'aborted') throw Object.assign(new Error(f.message), { aborted: true });
      if (follow) await follow.downloaded; // a broken download explains a broken stream best
      if (f.kind === 'path' || f.kind === 'format' || f.kind === 'unpack') throw invalid(`${what}: ${f.message}`);
      throw new EngineError('INTERNAL', `${what}: unpack failed: ${f.message}`);
    }
  }

  /** Gives an unpacked directory its diff id's name, or drops it when that layer is stored already. */
  private async nameLayer(tmp: string, r: UnpackResult, blob: BlobRef): Promise<LayerRecord> {
    const existing = this.layer(r.diffId);
    if (existing) {
      await this.dropUnpacked(tmp);
      if (!existing.blobs.some((b) => b.digest === blob.digest)) existing.blobs.push(blob);
      this.saveLayer(existing);
      return existing;
    }
    rmSync(this.layerDir(r.diffId), { recursive: true, force: true });
    renameSync(tmp, this.layerDir(r.diffId));
    if (existsSync(indexOf(tmp))) renameSync(indexOf(tmp), indexOf(this.layerDir(r.diffId)));
    const rec: LayerRecord = { diffId: r.diffId, size: r.size, tarSize: r.tarSize, blobs: [blob] };
    this.saveLayer(rec);
    return rec;
  }

  /** Runs a blob download once per digest, however many pulls want it at the same time. */
  download(digest: string, fetchIt: () => Promise<void>): Promise<void> {
    if (this.content.has(digest)) return Promise.resolve();
    const running = this.downloads.get(digest);
    if (running) return running;
    const p = fetchIt().finally(() => this.downloads.delete(digest));
    this.downloads.set(digest, p);
    return p;
  }

  // ---- images ----

  private recordPath(id: string): string {
    return `${this.recordsDir}/${id.replace(/^sha256:/, '')}.json`;
  }

  record(id: string): ImageRecord | undefined {
    return readJson<ImageRecord>(this.recordPath(id));
  }

  config(id: string): ImageConfig {
    return JSON.parse(this.content.read(id).toString('utf8')) as ImageConfig;
  }

  private saveIndex(): void {
    writeJsonAtomic(this.indexFile, this.index);
  }

  /** Registers an image whose config and layers are stored, then names it. */
  register(id: string, opts: { manifest?: BlobRef; tags?: string[]; digests?: string[]; parent?: string; buildKey?: string } = {}): Image {
    if (!this.complete(id)) throw new EngineError('INTERNAL', `image ${id} is missing content`);
    const prev = this.record(id);
    const rec: ImageRecord = {
      id, manifest: opts.manifest ?? prev?.manifest, loadedAt: prev?.loadedAt ?? new Date().toISOString(), lastTagTime: prev?.lastTagTime,
      parent: prev?.parent ?? opts.parent, buildKey: prev?.buildKey ?? opts.buildKey,
    };
    if (opts.tags?.length) rec.lastTagTime = new Date().toISOString();
    writeJsonAtomic(this.recordPath(id), rec);
    this.lineageCache?.set(id, { parent: rec.parent, buildKey: rec.buildKey, loadedAt: rec.loadedAt });
    for (const t of opts.tags ?? []) this.index.tags[normalizeName(t)] = id;
    for (const d of opts.digests ?? []) this.index.digests[d] = id;
    if (opts.tags?.length || opts.digests?.length) this.saveIndex();
    return this.load(id);
  }

  private load(id: string): Image {
    const config = this.config(id);
    const rec = this.record(id);
    const layers = config.rootfs.diff_ids.map((d) => ({ diffId: d, size: this.layerSize(d) }));
    const nameOf = (n: string) => familiarName(parseReference(n));
    const repoTags = Object.entries(this.index.tags).filter(([, v]) => v === id).map(([n]) => nameOf(n)).sort();
    const repoDigests = Object.entries(this.index.digests).filter(([, v]) => v === id).map(([n]) => nameOf(n)).sort();
    return {
      id,
      repoTags,
      repoDigests,
      config,
      layers,
      layerDirs: config.rootfs.diff_ids.map((d) => this.layerDir(d)),
      size: layers.reduce((s, l) => s + l.size, 0),
      created: config.created ?? new Date(0).toISOString(),
      lastTagTime: rec?.lastTagTime,
      parent: rec?.parent && existsSync(this.recordPath(rec.parent)) ? rec.parent : undefined,
    };
  }

  ids(): string[] {
    return readdirSync(this.recordsDir).filter((f) => /^[a-f0-9]{64}\.json$/.test(f)).map((f) => `sha256:${f.slice(0, -5)}`);
  }

  resolveId(ref: string): string {
    if (!ref) throw invalid('image reference must not be empty');
    const hex = ref.replace(/^sha256:/, '');
    if (/^[a-f0-9]{64}$/.test(hex) && existsSync(this.recordPath(hex))) return `sha256:${hex}`;
    let name: string | undefined;
    try {
      name = formatReference(parseReference(ref));
    } catch (e) {
      if (!/^[a-f0-9]{1,63}$/.test(hex)) throw invalid((e as Error).message);
    }
    if (name) {
      const byName = this.index.tags[name] ?? this.index.digests[name];
      if (byName) return byName;
    }
    if (/^[a-f0-9]{1,63}$/.test(hex)) {
      const matches = this.ids().filter((id) => id.startsWith(`sha256:${hex}`));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw invalid(`multiple images found with provided prefix: ${ref}`);
    }
    throw notFound(`No such image: ${name ? familiarName(parseReference(ref)) : ref}`);
  }

  get(ref: string): Image {
    return this.load(this.resolveId(ref));
  }

  list(): Image[] {
    return this.ids().map((id) => this.load(id));
  }

  /**
   * Takes a directory that holds exactly what an uncompressed layer blob (already stored) does
   * (a build step's overlay upper dir) as that layer, by renaming it: no unpacking. When the
   * layer exists already the directory is left where it is.
   */
  adoptLayer(dir: string, blob: { digest: string; size: number }, fileBytes: number): LayerRecord {
    const ref: BlobRef = { digest: blob.digest, size: blob.size, mediaType: MEDIA.ociLayer };
    const existing = this.layer(blob.digest);
    if (existing) {
      if (!existing.blobs.some((b) => b.digest === blob.digest)) {
        existing.blobs.push(ref);
        this.saveLayer(existing);
      }
      return existing;
    }
    rmSync(this.layerDir(blob.digest), { recursive: true, force: true });
    renameSync(dir, this.layerDir(blob.digest));
    const rec: LayerRecord = { diffId: blob.digest, size: fileBytes, tarSize: blob.size, blobs: [ref] };
    this.saveLayer(rec);
    return rec;
  }

  /** The layer a similar-key made last, if it is still stored. */
  private similarLayer(key: string): string | undefined {
    const diffId = this.similar().get(key)?.diffId;
    return diffId && this.layer(diffId) ? diffId : undefined;
  }

  private rememberSimilar(key: string, made: SimilarMade): void {
    const map = this.similar();
    map.delete(key);
    map.set(key, made);
    while (map.size > SIMILAR_KEEP) map.delete(map.keys().next().value!);
    writeJsonAtomic(`${this.layersDir}/similar.json`, [...map]);
  }

  private similarKeys?: Map<string, SimilarMade>;
  private similar(): Map<string, SimilarMade> {
    if (!this.similarKeys) {
      // (a diff id alone: as the file was before what the layer held was kept)
      const saved = readJson<[string, SimilarMade | string][]>(`${this.layersDir}/similar.json`) ?? [];
      this.similarKeys = new Map(saved.map(([k, v]) => [k, typeof v === 'string' ? { diffId: v } : v]));
    }
    return this.similarKeys;
  }

  /**
   * Stores a stream as a blob and unpacks it into a layer. `similar` names what the layer is
   * (a build step: its instruction, sources and destination) and what it holds: the layer this
   * key made last lends the new one its unchanged files as hard links (see LayerLinkOptions),
   * so a COPY of a large tree where one file changed creates one file, not the whole tree
   * again. What it holds changed: the archive is new, and is unpacked while it is written (the
   * two share the work). Else it is likely the last one again, stored whole first, and then
   * not unpacked at all.
   */
  async importLayer(input: Readable, what: string, similar?: { key: string; content: string }): Promise<LayerRecord> {
    if (similar && this.similar().get(similar.key)?.content !== similar.content) return this.importFollowing(input, what, similar);
    let blob;
    try {
      blob = await this.content.write(input);
    } catch (e) {
      throw invalid(`${what}: cannot read the archive: ${(e as Error).message}`);
    }
    this.pin([blob.digest]);
    try {
      const mediaType = this.mediaTypeOf(blob.digest);
      if (!similar) return await this.unpackBlob({ digest: blob.digest, size: blob.size, mediaType }, undefined, what);
      const known = this.layerForBlob(blob.digest);
      const layer = known ?? await this.doUnpack({ digest: blob.digest, size: blob.size, mediaType }, undefined, what, undefined, { from: this.similarLayer(similar.key) });
      this.rememberSimilar(similar.key, { diffId: layer.diffId, content: similar.content });
      return layer;
    } catch (e) {
      if (!this.layerForBlob(blob.digest)) this.content.delete(blob.digest);
      throw e;
    } finally {
      this.unpin([blob.digest]);
    }
  }

  /** importLayer's archive unpacked as it is written: on two cores, the writer and the unpacker each on one. */
  private async importFollowing(input: Readable, what: string, similar: { key: string; content: string }): Promise<LayerRecord> {
    const tmp = this.unpackTarget();
    const feed = new FollowFeed();
    let fd: number | undefined;
    let unpacked: Promise<UnpackResult> | undefined;
    const started: { write?: Promise<unknown> } = {};
    const tap: IngestTap = {
      // Called from inside write after its first await, so the write's promise is set by then.
      opened: (path) => {
        fd = openSync(path, 'r');
        unpacked = this.runUnpack(path, tmp, what, { fd, feed, downloaded: started.write! }, { from: this.similarLayer(similar.key) });
        unpacked.catch(() => undefined);
      },
      wrote: (size) => feed.grow(size),
    };
    let blob: { digest: string; size: number } | undefined;
    try {
      try {
        blob = await (started.write = this.content.write(input, undefined, what, tap));
      } catch (e) {
        feed.abort('the archive could not be stored');
        throw invalid(`${what}: cannot read the archive: ${(e as Error).message}`);
      }
      feed.end(blob.size);
      this.pin([blob.digest]);
      const r = await unpacked!;
      const layer = await this.nameLayer(tmp, r, { digest: blob.digest, size: blob.size, mediaType: this.mediaTypeOf(blob.digest) });
      this.rememberSimilar(similar.key, { diffId: layer.diffId, content: similar.content });
      return layer;
    } catch (e) {
      await unpacked?.catch(() => undefined);
      await this.dropUnpacked(tmp);
      if (blob && !this.layerForBlob(blob.digest)) this.content.delete(blob.digest);
      throw e;
    } finally {
      if (fd !== undefined) closeSync(fd);
      if (blob) this.unpin([blob.digest]);
    }
  }

  /** The layer media type an archive blob has, from its first bytes. */
  mediaTypeOf(digest: string): string {
    const head = Buffer.alloc(4);
    const fd = openSync(this.content.path(digest), 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA.ociLayerGzip;
    if (head.readUInt32LE(0) === 0xfd2fb528) return MEDIA.ociLayerZstd;
    return MEDIA.ociLayer;
  }

  async importRootfs(tar: Readable, options: ImportOptions): Promise<Image> {
    const name = options.ref ? normalizeName(options.ref) : undefined;
    const layer = await this.importLayer(tar, 'import');
    const created = options.created ?? new Date().toISOString();
    const config: ImageConfig = {
      architecture: hostArch(),
      os: 'linux',
      created,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...options.changes },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, created_by: 'berth import', comment: options.comment ?? 'Imported from tarball' }],
    };
    const id = await this.content.put(Buffer.from(JSON.stringify(config)));
    return this.register(id, { tags: name ? [name] : [] });
  }

  tag(idOrRef: string, newRef: string): void {
    const id = this.resolveId(idOrRef);
    const name = normalizeName(newRef);
    if (name.includes('@')) throw invalid(`refusing to create a tag with a digest reference: ${newRef}`);
    this.index.tags[name] = id;
    this.saveIndex();
    const rec = this.record(id);
    if (rec) writeJsonAtomic(this.recordPath(id), { ...rec, lastTagTime: new Date().toISOString() });
  }

  /** Adds a repo@digest name (after a pull by tag or a push). */
  addDigest(id: string, name: string): void {
    this.index.digests[name] = id;
    this.saveIndex();
  }

  /** Names of an image, full form. */
  namesOf(id: string): string[] {
    return Object.entries(this.index.tags).filter(([, v]) => v === id).map(([k]) => k);
  }

  remove(ref: string, options: { force?: boolean; inUse?: (id: string) => boolean }) {
    const id = this.resolveId(ref);
    const names = this.namesOf(id);
    let byName: string | undefined;
    try {
      byName = normalizeName(ref);
    } catch {
      byName = undefined;
    }
    // Removing one of several names only untags, as Docker does.
    if (byName && this.index.tags[byName] === id && names.length > 1) {
      delete this.index.tags[byName];
      this.saveIndex();
      return { untagged: [familiarName(parseReference(byName))], deleted: [] };
    }
    if (options.inUse?.(id) && !options.force) {
      throw conflict(`conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by a container`);
    }
    if (this.children(id).length) {
      throw conflict(`conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image has dependent child images`);
    }
    const untagged: string[] = [];
    for (const n of names) {
      delete this.index.tags[n];
      untagged.push(familiarName(parseReference(n)));
    }
    for (const [n, v] of Object.entries(this.index.digests)) {
      if (v !== id) continue;
      delete this.index.digests[n];
      untagged.push(familiarName(parseReference(n)));
    }
    this.saveIndex();
    const parent = this.record(id)?.parent;
    rmSync(this.recordPath(id), { force: true });
    this.lineageCache?.delete(id);
    // As dockerd does, the untagged build steps below it go too, up to one that is named,
    // used by a container, or the parent of another image.
    const deleted = [id];
    for (let p = parent; p && existsSync(this.recordPath(p)); ) {
      if (this.namesOf(p).length || options.inUse?.(p) || this.children(p).length) break;
      const next = this.record(p)?.parent;
      rmSync(this.recordPath(p), { force: true });
      this.lineageCache?.delete(p);
      deleted.push(p);
      p = next;
    }
    this.gc();
    return { untagged, deleted };
  }

  /**
   * Each image's parent, build key and load time, read from the records once and then kept by
   * register and remove: the build cache's probe and rmi's child check read no files.
   */
  private lineageCache?: Map<string, Pick<ImageRecord, 'parent' | 'buildKey' | 'loadedAt'>>;

  private lineage(): Map<string, Pick<ImageRecord, 'parent' | 'buildKey' | 'loadedAt'>> {
    if (!this.lineageCache) {
      this.lineageCache = new Map();
      for (const id of this.ids()) {
        const r = this.record(id);
        if (r) this.lineageCache.set(id, { parent: r.parent, buildKey: r.buildKey, loadedAt: r.loadedAt });
      }
    }
    return this.lineageCache;
  }

  /** Images built or committed on this one. */
  children(id: string): string[] {
    return [...this.lineage()].filter(([, l]) => l.parent === id).map(([c]) => c);
  }

  /** The images a build step with this key made (build/builder.ts), newest first. */
  byBuildKey(key: string): string[] {
    return [...this.lineage()].filter(([, l]) => l.buildKey === key).sort(([, a], [, b]) => (a.loadedAt < b.loadedAt ? 1 : -1)).map(([id]) => id);
  }

  pin(digests: string[]): void {
    for (const d of digests) this.pinned.set(d, (this.pinned.get(d) ?? 0) + 1);
  }

  unpin(digests: string[]): void {
    for (const d of digests) {
      const n = (this.pinned.get(d) ?? 1) - 1;
      if (n <= 0) this.pinned.delete(d);
      else this.pinned.set(d, n);
    }
  }

  /** Deletes layers and blobs no image refers to (and no running pull holds). Returns bytes freed. */
  gc(): number {
    const keepBlobs = new Set<string>(this.pinned.keys());
    const keepLayers = new Set<string>();
    for (const id of this.ids()) {
      keepBlobs.add(id);
      const rec = this.record(id);
      if (rec?.manifest) keepBlobs.add(rec.manifest.digest);
      for (const [n, v] of Object.entries(this.index.digests)) if (v === id) keepBlobs.add(n.slice(n.indexOf('@') + 1));
      for (const d of this.config(id).rootfs.diff_ids) keepLayers.add(d);
    }
    let freed = 0;
    for (const f of readdirSync(this.layersDir)) {
      if (!/^[a-f0-9]{64}\.json$/.test(f)) continue;
      const rec = readJson<LayerRecord>(`${this.layersDir}/${f}`);
      if (!rec) continue;
      if (keepLayers.has(rec.diffId) || this.pinned.has(rec.diffId) || rec.blobs.some((b) => this.pinned.has(b.digest))) {
        for (const b of rec.blobs) keepBlobs.add(b.digest);
        continue;
      }
      freed += rec.size;
      rmSync(`${this.layersDir}/${f}`, { force: true });
      rmSync(this.layerDir(rec.diffId), { recursive: true, force: true });
      rmSync(indexOf(this.layerDir(rec.diffId)), { force: true });
      this.layerSizes.delete(rec.diffId);
      for (const b of rec.blobs) this.blobToLayer.delete(b.digest);
    }
    for (const d of this.content.list()) {
      if (keepBlobs.has(d)) continue;
      this.content.delete(d);
    }
    return freed;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
