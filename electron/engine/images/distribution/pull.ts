// `docker pull`: resolve a tag to a manifest (picking the platform from an index), fetch the
// config and the layers in parallel with per-layer byte progress, unpack each layer once, and
// only then name the image. Progress messages have the Docker JSON-message shape.
import { familiarName, formatReference, namesTagOrDigest, parseReference, ReferenceError, type ImageReference } from '../../../../common/reference.ts';
import { EngineError, invalid, notFound, unsupported } from '../../errors.ts';
import type { Image, ImageConfig } from '../imageStore.ts';
import { hostArch, MEDIA, type BlobRef, type LocalImageStore } from '../localImageStore.ts';
import type { RegistryClient, RegistrySession } from './registryClient.ts';
import type { Credentials } from './credentials.ts';

export interface ProgressMessage {
  id?: string;
  status: string;
  progressDetail?: { current?: number; total?: number };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PullOptions {
  platform?: Platform;
  onProgress?: (m: ProgressMessage) => void;
  signal?: AbortSignal;
  /** parallel layer downloads (default 3, as Docker) */
  concurrency?: number;
  /** instead of the saved credentials for the registry */
  credentials?: Credentials;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  urls?: string[];
}

interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

const LAYER_TYPES = new Set<string>([MEDIA.dockerLayerGzip, MEDIA.ociLayer, MEDIA.ociLayerGzip, MEDIA.ociLayerZstd, 'application/vnd.docker.image.rootfs.diff.tar']);

export function hostPlatform(): Platform {
  return { os: 'linux', architecture: hostArch(), ...(hostArch() === 'arm64' ? { variant: 'v8' } : {}) };
}

export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw invalid(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  return { os, architecture, variant };
}

const fmtPlatform = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;

/** Picks the manifest for a platform from an index, as containerd's matcher does. */
export function selectPlatform(entries: Descriptor[], want: Platform): Descriptor | undefined {
  const candidates = entries.filter((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture);
  if (want.variant) {
    return candidates.find((d) => d.platform?.variant === want.variant) ?? (want.architecture === 'arm64' && want.variant === 'v8' ? candidates.find((d) => !d.platform?.variant) : undefined);
  }
  return candidates.find((d) => !d.platform?.variant) ?? candidates[0];
}

function parseManifest(body: Buffer, what: string): Manifest {
  try {
    return JSON.parse(body.toString('utf8')) as Manifest;
  } catch {
    throw invalid(`manifest of ${what} is not valid JSON`);
  }
}

const short = (digest: string) => digest.slice(7, 19);

async function runLimited<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** A reference the user gave, with a bad one as the engine's invalid-argument error. */
function parseInput(input: string): ImageReference {
  try {
    return parseReference(input);
  } catch (e) {
    if (e instanceof ReferenceError) throw invalid(e.message);
    throw e;
  }
}

export async function pullImage(store: LocalImageStore, client: RegistryClient, input: string, opts: PullOptions = {}): Promise<Image> {
  const ref = parseInput(input);
  const what = familiarName(ref);
  const emit = opts.onProgress ?? (() => undefined);
  const endpoints = client.endpoints(ref.domain);
  let lastError: unknown;
  for (const base of endpoints) {
    try {
      return await pullFrom(store, client.session(ref.domain, ref.path, 'pull', base, [], opts.credentials), ref, what, opts, emit);
    } catch (e) {
      lastError = e;
      // A mirror that fails or lacks the image falls through to the next endpoint.
      const retryable = e instanceof EngineError && (e.code === 'UNAVAILABLE' || e.code === 'NOT_FOUND') && base !== endpoints.at(-1);
      if (!retryable) throw e;
    }
  }
  throw lastError;
}

/**
 * `docker pull --all-tags`: every tag of a repository, one after the other, as dockerd does
 * for a name given without tag or digest. Returns the images in tag order.
 */
export async function pullAllTags(store: LocalImageStore, client: RegistryClient, input: string, opts: PullOptions = {}): Promise<Image[]> {
  const ref = parseInput(input);
  if (namesTagOrDigest(input)) throw invalid(`tag can't be used with --all-tags/-a (${input})`);
  const repo = formatReference({ ...ref, tag: undefined, digest: undefined });
  const tags = (await client.session(ref.domain, ref.path, 'pull', undefined, [], opts.credentials).tags()).sort();
  if (!tags.length) throw notFound(`repository ${familiarName({ ...ref, tag: undefined })} has no tags`);
  const images: Image[] = [];
  for (const tag of tags) images.push(await pullImage(store, client, `${repo}:${tag}`, opts));
  return images;
}

async function pullFrom(store: LocalImageStore, s: RegistrySession, ref: ImageReference, what: string, opts: PullOptions, emit: (m: ProgressMessage) => void): Promise<Image> {
  const want = opts.platform ?? hostPlatform();
  await s.ping();
  const reference = ref.digest ?? ref.tag ?? 'latest';
  emit({ id: ref.digest ?? ref.tag, status: `Pulling from ${familiarName({ ...ref, tag: undefined, digest: undefined })}` });
  const top = await s.manifest(reference, what);
  const pinned: string[] = [top.digest];
  store.pin(pinned);
  try {
    let man = top;
    let manifest = parseManifest(top.body, what);
    if (manifest.manifests) {
      const entry = selectPlatform(manifest.manifests, want);
      if (!entry) {
        const have = manifest.manifests.map((d) => d.platform).filter((p) => p && p.os !== 'unknown').map((p) => fmtPlatform(p as Platform));
        throw notFound(`no matching manifest for ${fmtPlatform(want)} in the manifest list entries of ${what} (it has ${have.join(', ') || 'none'})`);
      }
      man = await s.manifest(entry.digest, `${what} (${fmtPlatform(want)})`);
      pinned.push(man.digest);
      store.pin([man.digest]);
      manifest = parseManifest(man.body, what);
    }
    if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw unsupported(`manifest of ${what} has an unsupported format (${man.mediaType || `schema ${manifest.schemaVersion}`})`);
    }
    for (const l of manifest.layers) {
      if (!LAYER_TYPES.has(l.mediaType)) {
        throw unsupported(`${what}: layer ${l.digest} has media type ${l.mediaType}, which Berth cannot unpack${l.urls ? ' (foreign layer)' : ''}`);
      }
    }
    const cfgDesc = manifest.config;
    pinned.push(cfgDesc.digest, ...manifest.layers.map((l) => l.digest));
    store.pin([cfgDesc.digest, ...manifest.layers.map((l) => l.digest)]);
    await store.download(cfgDesc.digest, () => s.fetchBlob(store.content, cfgDesc, `config of ${what}`, () => undefined, opts.signal));
    const config = JSON.parse(store.content.read(cfgDesc.digest).toString('utf8')) as ImageConfig;
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalid(`config of ${what} has no rootfs`);
    if (!opts.platform && !manifest.manifests && (config.os !== want.os || config.architecture !== want.architecture)) {
      throw notFound(`${what} only has a manifest for ${config.os}/${config.architecture}, not ${fmtPlatform(want)} (pass a platform to pull it anyway)`);
    }
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalid(`${what}: the manifest has ${manifest.layers.length} layers but the config lists ${config.rootfs.diff_ids.length}`);
    }
    const upToDate = !!store.record(cfgDesc.digest);
    await runLimited(manifest.layers, opts.concurrency ?? 3, async (layer, i) => {
      const id = short(layer.digest);
      const diffId = config.rootfs.diff_ids[i];
      if (store.layer(diffId)) {
        emit({ id, status: 'Already exists' });
        return;
      }
      emit({ id, status: 'Pulling fs layer' });
      let last = 0;
      let downloaded = false;
      const complete = () => {
        if (downloaded) return;
        downloaded = true;
        emit({ id, status: 'Verifying Checksum' });
        emit({ id, status: 'Download complete' });
        emit({ id, status: 'Extracting', progressDetail: { current: 0, total: layer.size } });
      };
      const blob: BlobRef = { digest: layer.digest, mediaType: layer.mediaType, size: layer.size };
      // The layer unpacks while it downloads; Docker's progress phases are kept for clients.
      await store.fetchLayer(blob, diffId, `layer ${layer.digest} of ${what}`, (tap) => s.fetchBlob(store.content, layer, `layer ${layer.digest} of ${what}`, (got) => {
        const now = Date.now();
        if (now - last < 100 && got < layer.size) return;
        last = now;
        emit({ id, status: 'Downloading', progressDetail: { current: got, total: layer.size } });
        if (got === layer.size) complete();
      }, opts.signal, tap));
      complete();
      store.addSource(diffId, layer.digest, `${ref.domain}/${ref.path}`);
      emit({ id, status: 'Pull complete' });
    });
    await store.content.put(top.body, top.digest);
    if (man !== top) await store.content.put(man.body, man.digest);
    const repo = formatReference({ ...ref, tag: undefined, digest: undefined });
    const image = store.register(cfgDesc.digest, {
      manifest: { digest: man.digest, mediaType: man.mediaType, size: man.body.length },
      tags: ref.tag && !ref.digest ? [formatReference({ ...ref, digest: undefined })] : [],
      digests: [`${repo}@${top.digest}`],
    });
    emit({ status: `Digest: ${top.digest}` });
    emit({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${what}` });
    return image;
  } finally {
    store.unpin(pinned);
  }
}
