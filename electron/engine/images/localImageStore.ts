// Local image store: configs by digest, an index of names → ids, and one unpacked
// directory per layer (named by its diff id) for the overlay snapshotter.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { familiarName, formatReference, parseReference, ReferenceError } from '../../../common/reference.ts';
import { conflict, invalid, notFound } from '../errors.ts';
import type { Image, ImageConfig, ImageStore, ImportOptions } from './imageStore.ts';

const HOST_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le' };

export function normalizeName(ref: string): string {
  try {
    return formatReference(parseReference(ref));
  } catch (e) {
    if (e instanceof ReferenceError) throw invalid(e.message);
    throw e;
  }
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  renameSync(tmp, path);
}

function dirSize(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${ent.name}`;
      if (ent.isDirectory()) stack.push(p);
      else if (ent.isFile()) total += statSync(p).size;
    }
  }
  return total;
}

/** Peeks at the first chunk to tell gzip from a plain tar without buffering the stream. */
async function sniffGzip(input: Readable): Promise<{ stream: Readable; gz: boolean }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value);
  async function* rest() {
    if (head.length) yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value;
    }
  }
  return { stream: Readable.from(rest()), gz: head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b };
}

export class LocalImageStore implements ImageStore {
  private readonly configs: string;
  private readonly layers: string;
  private readonly indexFile: string;
  private index: Record<string, string>;

  constructor(root: string) {
    this.configs = `${root}/images/configs`;
    this.layers = `${root}/layers`;
    this.indexFile = `${root}/images/repositories.json`;
    mkdirSync(this.configs, { recursive: true });
    mkdirSync(this.layers, { recursive: true });
    this.index = existsSync(this.indexFile) ? JSON.parse(readFileSync(this.indexFile, 'utf8')) : {};
    this.dropDanglingReferences();
  }

  /** A crash can leave a name pointing at a config that never landed. */
  private dropDanglingReferences(): void {
    for (const [name, id] of Object.entries(this.index)) {
      if (!existsSync(this.configPath(id))) delete this.index[name];
    }
  }

  private configPath(id: string): string {
    return `${this.configs}/${id.replace(/^sha256:/, '')}.json`;
  }

  private layerDir(diffId: string): string {
    return `${this.layers}/${diffId.replace(/^sha256:/, '')}`;
  }

  private saveIndex(): void {
    writeFileSync(`${this.indexFile}.tmp`, JSON.stringify(this.index, null, 1));
    renameSync(`${this.indexFile}.tmp`, this.indexFile);
  }

  private load(id: string): Image {
    const raw = readFileSync(this.configPath(id));
    const config = JSON.parse(raw.toString('utf8')) as ImageConfig;
    const layerDirs = config.rootfs.diff_ids.map((d) => this.layerDir(d));
    const size = config.rootfs.diff_ids.reduce((sum, d) => {
      try {
        return sum + JSON.parse(readFileSync(`${this.layerDir(d)}.json`, 'utf8')).size;
      } catch {
        return sum;
      }
    }, 0);
    const repoTags = Object.entries(this.index)
      .filter(([, v]) => v === id)
      .map(([name]) => familiarName(parseReference(name)))
      .sort();
    return { id, repoTags, config, layerDirs, size, created: config.created ?? new Date(0).toISOString() };
  }

  private ids(): string[] {
    return readdirSync(this.configs).filter((f) => f.endsWith('.json')).map((f) => `sha256:${f.slice(0, -5)}`);
  }

  resolveId(ref: string): string {
    if (!ref) throw invalid('image reference must not be empty');
    const hex = ref.replace(/^sha256:/, '');
    if (/^[a-f0-9]{64}$/.test(hex) && existsSync(this.configPath(hex))) return `sha256:${hex}`;
    let name: string | undefined;
    try {
      name = formatReference(parseReference(ref));
    } catch (e) {
      if (!/^[a-f0-9]{1,63}$/.test(hex)) throw invalid((e as Error).message);
    }
    if (name && this.index[name]) return this.index[name];
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

  async importRootfs(tar: Readable, options: ImportOptions): Promise<Image> {
    const name = options.ref ? normalizeName(options.ref) : undefined;
    const diffId = await this.unpackLayer(tar);
    const config: ImageConfig = {
      architecture: HOST_ARCH[process.arch] ?? process.arch,
      os: 'linux',
      created: options.created ?? new Date().toISOString(),
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...options.changes },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: options.created, created_by: 'berth import', comment: options.comment ?? 'Imported from tarball' }],
    };
    const raw = Buffer.from(JSON.stringify(config));
    const id = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    if (!existsSync(this.configPath(id))) await writeAtomic(this.configPath(id), raw);
    if (name) {
      this.index[name] = id;
      this.saveIndex();
    }
    return this.load(id);
  }

  /** Unpacks a tar stream into a layer directory named by the tar's sha256 (its diff id). */
  private async unpackLayer(input: Readable): Promise<string> {
    const tmp = `${this.layers}/.tmp-${randomBytes(8).toString('hex')}`;
    mkdirSync(tmp);
    const hash = createHash('sha256');
    const sniff = new PassThrough();
    const tarProc = spawn('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', '-', '-C', tmp], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    tarProc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number>((resolve) => tarProc.on('close', (code) => resolve(code ?? 1)));
    try {
      const { stream, gz } = await sniffGzip(input);
      sniff.on('data', (chunk: Buffer) => hash.update(chunk));
      const sink = tarProc.stdin;
      sink.on('error', () => undefined);
      await (gz ? pipeline(stream, createGunzip(), sniff, sink) : pipeline(stream, sniff, sink)).catch((e) => {
        throw invalid(`import: ${gz ? 'gzip stream is corrupt' : 'read tarball'}: ${(e as Error).message}`);
      });
      const code = await exited;
      if (code !== 0) {
        const why = /does not look like a tar archive|unexpected EOF|Unexpected EOF/i.test(stderr)
          ? 'not a valid tar archive'
          : stderr.trim().split('\n').pop();
        throw invalid(`import: ${why}`);
      }
      const diffId = `sha256:${hash.digest('hex')}`;
      const dir = this.layerDir(diffId);
      if (existsSync(dir)) {
        await rm(tmp, { recursive: true, force: true });
      } else {
        await writeAtomic(`${dir}.json`, JSON.stringify({ size: dirSize(tmp) }));
        renameSync(tmp, dir);
      }
      return diffId;
    } catch (e) {
      tarProc.kill();
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  tag(idOrRef: string, newRef: string): void {
    const id = this.resolveId(idOrRef);
    this.index[normalizeName(newRef)] = id;
    this.saveIndex();
  }

  remove(ref: string, options: { force?: boolean; inUse?: (id: string) => boolean }) {
    const id = this.resolveId(ref);
    const names = Object.entries(this.index).filter(([, v]) => v === id).map(([k]) => k);
    let byName: string | undefined;
    try {
      byName = normalizeName(ref);
    } catch {
      byName = undefined;
    }
    const untagged: string[] = [];
    // Removing one of several names only untags, as Docker does.
    if (byName && this.index[byName] === id && names.length > 1) {
      delete this.index[byName];
      this.saveIndex();
      return { untagged: [familiarName(parseReference(byName))], deleted: [] };
    }
    if (options.inUse?.(id) && !options.force) {
      throw conflict(`conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by a container`);
    }
    for (const n of names) {
      delete this.index[n];
      untagged.push(familiarName(parseReference(n)));
    }
    this.saveIndex();
    const config = this.load(id).config;
    rmSync(this.configPath(id), { force: true });
    const stillUsed = new Set(this.ids().flatMap((other) => this.load(other).config.rootfs.diff_ids));
    for (const d of config.rootfs.diff_ids) {
      if (stillUsed.has(d)) continue;
      rmSync(this.layerDir(d), { recursive: true, force: true });
      rmSync(`${this.layerDir(d)}.json`, { force: true });
    }
    return { untagged, deleted: [id] };
  }
}
