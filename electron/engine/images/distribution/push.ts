// `docker push`: upload what the registry lacks (existence check, cross-repository mount,
// monolithic or chunked upload, per-layer progress), then put the manifest. An image pulled from
// a registry is pushed with its original manifest, so its digest stays the same; other images get
// a Docker v2 schema 2 manifest with gzip layers made once and kept.
import { createGzip } from 'node:zlib';
import { familiarName, formatReference, parseReference, ReferenceError } from '../../../../common/reference.ts';
import { invalid } from '../../errors.ts';
import { MEDIA, type BlobRef, type LocalImageStore } from '../localImageStore.ts';
import type { ProgressMessage } from './pull.ts';
import type { Credentials } from './credentials.ts';
import type { RegistryClient } from './registryClient.ts';

export interface PushOptions {
  onProgress?: (m: ProgressMessage) => void;
  /** uploads larger than this go in PATCH chunks of this size (default 16 MiB) */
  chunkSize?: number;
  concurrency?: number;
  /** checked between layers: an upload in flight finishes, the rest are not started */
  signal?: AbortSignal;
  /** instead of the saved credentials for the registry */
  credentials?: Credentials;
}

export interface PushResult {
  tag: string;
  digest: string;
  size: number;
}

interface PushPlan {
  manifest: Buffer;
  mediaType: string;
  layers: { diffId: string; blob: BlobRef }[];
  config: BlobRef;
}

const GZIP_TYPES = new Set<string>([MEDIA.dockerLayerGzip, MEDIA.ociLayerGzip]);

async function gzipLayer(store: LocalImageStore, diffId: string): Promise<BlobRef> {
  const rec = store.layer(diffId)!;
  const gz = rec.blobs.find((b) => GZIP_TYPES.has(b.mediaType) && store.content.has(b.digest));
  if (gz) return { ...gz, mediaType: MEDIA.dockerLayerGzip };
  const raw = rec.blobs.find((b) => b.mediaType === MEDIA.ociLayer && store.content.has(b.digest));
  if (!raw) throw invalid(`layer ${diffId} has no stored archive to push (it was unpacked from a form this store did not keep)`);
  const { digest, size } = await store.content.write(store.content.stream(raw.digest).pipe(createGzip({ level: 6 })));
  const blob: BlobRef = { digest, size, mediaType: MEDIA.dockerLayerGzip };
  store.addLayerBlob(diffId, blob);
  return blob;
}

async function plan(store: LocalImageStore, id: string): Promise<PushPlan> {
  const rec = store.record(id);
  const config = store.config(id);
  if (rec?.manifest && store.content.has(rec.manifest.digest)) {
    const body = store.content.read(rec.manifest.digest);
    const m = JSON.parse(body.toString('utf8')) as { config: BlobRef; layers: BlobRef[] };
    if (m.layers.every((l) => store.content.has(l.digest)) && m.layers.length === config.rootfs.diff_ids.length) {
      return { manifest: body, mediaType: rec.manifest.mediaType, config: m.config, layers: m.layers.map((l, i) => ({ diffId: config.rootfs.diff_ids[i], blob: l })) };
    }
  }
  const layers = [];
  for (const diffId of config.rootfs.diff_ids) layers.push({ diffId, blob: await gzipLayer(store, diffId) });
  const cfg: BlobRef = { mediaType: MEDIA.dockerConfig, digest: id, size: store.content.size(id) };
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: cfg,
    layers: layers.map((l) => ({ mediaType: l.blob.mediaType, size: l.blob.size, digest: l.blob.digest })),
  }, null, 3));
  return { manifest, mediaType: MEDIA.dockerManifest, config: cfg, layers };
}

export async function pushImage(store: LocalImageStore, client: RegistryClient, input: string, opts: PushOptions = {}): Promise<PushResult> {
  let ref;
  try {
    ref = parseReference(input);
  } catch (e) {
    if (e instanceof ReferenceError) throw invalid(e.message);
    throw e;
  }
  if (ref.digest) throw invalid(`cannot push a digest reference: ${input}`);
  const tag = ref.tag ?? 'latest';
  const id = store.resolveId(formatReference(ref));
  const emit = opts.onProgress ?? (() => undefined);
  const repoFull = `${ref.domain}/${ref.path}`;
  emit({ status: `The push refers to repository [${familiarName({ ...ref, tag: undefined })}]` });
  const p = await plan(store, id);
  // Repositories on the same registry that already hold a layer: candidates for a mount.
  const mountFrom = (diffId: string, digest: string) =>
    (store.layer(diffId)?.sources?.[digest] ?? []).filter((r) => r.startsWith(`${ref.domain}/`) && r !== repoFull).map((r) => r.slice(ref.domain.length + 1));
  const extraScopes = [...new Set(p.layers.flatMap((l) => mountFrom(l.diffId, l.blob.digest)))].map((r) => `repository:${r}:pull`);
  const s = client.session(ref.domain, ref.path, 'pull,push', client.endpoints(ref.domain).at(-1), extraScopes, opts.credentials);
  await s.ping();
  const chunk = opts.chunkSize ?? 16 << 20;
  const layers = [...p.layers].reverse();
  for (const l of layers) emit({ id: l.blob.digest.slice(7, 19), status: 'Preparing' });
  const queue = [...layers];
  const uploadOne = async (l: { diffId: string; blob: BlobRef }) => {
    const sid = l.blob.digest.slice(7, 19);
    if (await s.blobExists(l.blob.digest)) {
      emit({ id: sid, status: 'Layer already exists' });
    } else {
      let mounted = false;
      for (const from of mountFrom(l.diffId, l.blob.digest)) {
        if (await s.mountBlob(l.blob.digest, from)) {
          emit({ id: sid, status: `Mounted from ${familiarName(parseReference(`${ref.domain}/${from}`)).replace(/:latest$/, '')}` });
          mounted = true;
          break;
        }
      }
      if (!mounted) {
        // Called once per uploaded chunk (or once for a single PUT).
        await s.uploadBlob(store.content.path(l.blob.digest), l.blob, chunk, (n) => emit({ id: sid, status: 'Pushing', progressDetail: { current: n, total: l.blob.size } }));
        emit({ id: sid, status: 'Pushed' });
      }
    }
    store.addSource(l.diffId, l.blob.digest, repoFull);
  };
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 3, queue.length) }, async () => {
    for (let l = queue.shift(); l; l = queue.shift()) {
      opts.signal?.throwIfAborted();
      await uploadOne(l);
    }
  });
  await Promise.all(workers);
  opts.signal?.throwIfAborted();
  if (!(await s.blobExists(p.config.digest))) await s.uploadBlob(store.content.path(p.config.digest), p.config, chunk, () => undefined);
  const digest = await s.putManifest(tag, p.manifest, p.mediaType);
  await store.content.put(p.manifest);
  store.addDigest(id, `${repoFull}@${digest}`);
  emit({ status: `${tag}: digest: ${digest} size: ${p.manifest.length}` });
  return { tag, digest, size: p.manifest.length };
}
