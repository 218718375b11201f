// A real registry (Debian's docker-registry) on 127.0.0.1 with storage in a temp dir, and a
// tiny independent uploader that fills it with images built offline (not Berth's push code).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../../electron/machine/supervisor.ts';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { buildTar, type TarEntry } from '../../electron/engine/images/tarWriter.ts';

export interface TestRegistry {
  host: string;
  base: string;
  storage: string;
  auth?: { username: string; password: string };
  stop(): Promise<void>;
}

export { freePort };

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;



export async function startRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  const base = mkdtempSync(`${tmpdir()}/berth-t-reg-`);
  chmodSync(base, 0o755);
  const port = await freePort();
  const storage = `${base}/data`;
  let auth = '';
  if (opts.auth) {
    writeFileSync(`${base}/htpasswd`, execFileSync('htpasswd', ['-Bbn', opts.auth.username, opts.auth.password]));
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${base}/htpasswd\n`;
  }
  writeFileSync(`${base}/config.yml`, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const proc: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', `${base}/config.yml`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  writeFileSync(`${base}/registry.pid`, String(proc.pid));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`);
      await r.body?.cancel();
      break;
    } catch {
      if (i > 100 || proc.exitCode !== null) throw new Error(`registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    host, base, storage, auth: opts.auth,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

function headers(reg: TestRegistry): Record<string, string> {
  return reg.auth ? { authorization: `Basic ${Buffer.from(`${reg.auth.username}:${reg.auth.password}`).toString('base64')}` } : {};
}

export async function uploadBlob(reg: TestRegistry, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha(data);
  const start = await fetch(`http://${reg.host}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers(reg) });
  if (start.status !== 202) throw new Error(`upload start: ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get('location')!, `http://${reg.host}`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', headers: { ...headers(reg), 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
  return { digest, size: data.length };
}

export async function putManifest(reg: TestRegistry, repo: string, ref: string, body: object, mediaType: string): Promise<{ digest: string; size: number }> {
  const raw = Buffer.from(JSON.stringify(body));
  const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { ...headers(reg), 'content-type': mediaType }, body: raw });
  if (r.status !== 201) throw new Error(`manifest: ${r.status} ${await r.text()}`);
  return { digest: sha(raw), size: raw.length };
}

export interface BuiltImage {
  manifest: { digest: string; size: number };
  config: { digest: string; size: number };
  layers: { digest: string; size: number; diffId: string }[];
}

/** Uploads an image made of the given uncompressed layer tars (gzipped here) as repo:tag. */
export async function uploadImage(reg: TestRegistry, repo: string, tag: string, tars: Buffer[], opts: { arch?: string; cmd?: string[]; oci?: boolean; zstd?: boolean; config?: Record<string, unknown> } = {}): Promise<BuiltImage> {
  const layers = [];
  for (const t of tars) {
    const gz = opts.zstd ? execFileSync('zstd', ['-q', '-c'], { input: t, maxBuffer: 1 << 30 }) : gzipSync(t);
    layers.push({ ...(await uploadBlob(reg, repo, gz)), diffId: sha(t) });
  }
  const config = Buffer.from(JSON.stringify({
    architecture: opts.arch ?? 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z',
    config: { Cmd: opts.cmd ?? ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], ...opts.config },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `layer ${i}` })),
  }));
  const cfg = await uploadBlob(reg, repo, config);
  const oci = (opts.oci ?? false) || !!opts.zstd;
  const layerType = opts.zstd ? 'application/vnd.oci.image.layer.v1.tar+zstd' : oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  const manifest = await putManifest(reg, repo, tag, {
    schemaVersion: 2,
    mediaType: oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', ...cfg },
    layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
  }, oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json');
  return { manifest, config: cfg, layers };
}

/** Uploads an OCI index over already uploaded manifests. */
export function uploadIndex(reg: TestRegistry, repo: string, tag: string, entries: { image: BuiltImage; arch: string; variant?: string }[]) {
  return putManifest(reg, repo, tag, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map((e) => ({
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json', ...e.image.manifest,
      platform: { os: 'linux', architecture: e.arch, ...(e.variant ? { variant: e.variant } : {}) },
    })),
  }, 'application/vnd.oci.image.index.v1+json');
}

/** A small extra layer: a file, and a whiteout that deletes /etc/group from the layer below. */
export function extraLayerTar(text = 'hello from layer two\n'): Buffer {
  const entries: TarEntry[] = [
    { name: 'hello.txt', type: 'file', mode: 0o644, data: Buffer.from(text) },
    { name: 'etc/', type: 'dir', mode: 0o755 },
    { name: 'etc/.wh.group', type: 'file', mode: 0o644 },
  ];
  return buildTar(entries);
}
