// COPY and ADD: sources from the build context (or a stage's or image's rootfs) found through a
// view, so a symlink in them resolves inside their root; wildcards matched per path segment;
// the files streamed as tar into the step's container through the confined extractor. The
// digest that keys the cache covers names, modes, owners, link targets and contents, never
// mtimes (a `touch` keeps the cache).
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { invalid, notFound } from '../errors.ts';
import type { FsView, ViewEntry } from '../confined/fsView.ts';
import { tarChunks } from '../confined/tree.ts';
import { tarHeader, tarPadding, TAR_END } from '../images/tarWriter.ts';
import { dockerdContextHash, dockerdImageHash, dockerdMultiHash } from './dockerdHash.ts';
import { isDir, isFile, O, type FsAt } from '../sys/fsat.ts';
import type { ContextTree, CtxNode } from './contextTree.ts';
import { ignoreMatcher } from '../../../common/dockerignore.ts';
import { readSync } from 'node:fs';

export interface CopyPlan {
  add: boolean;
  sources: string[];
  heredocs: { name: string; body: string }[];
  dest: string;
  from?: string;
  fromImage?: string;
  chown?: string;
  chmod?: number;
  /** COPY --parents: sources keep their path under the destination */
  parents?: boolean;
  /** COPY --exclude patterns (.dockerignore syntax, relative to each source) */
  exclude?: string[];
  /** SOURCE_DATE_EPOCH: no entry newer */
  clampMtime?: number;
  /** ADD of URLs: the files already downloaded (mode 0600 unless --chmod, mtime from Last-Modified) */
  downloads?: { name: string; body: Buffer; mtime: number }[];
}

export interface TreeTarOptions {
  owner?: { uid: number; gid: number };
  chmod?: number;
  mtime?: number;
  /** COPY --exclude: paths (relative to the source) left out, with what is under them */
  exclude?: (rel: string) => boolean;
  /** no mtime later than this (SOURCE_DATE_EPOCH) */
  clampMtime?: number;
}

/** Where COPY reads from: the build context (an indexed tar) or a rootfs view (--from). */
export interface SourceTree {
  /** what is at a path, symlinks followed inside the tree */
  stat(path: string): { isDir: boolean; isFile: boolean; size: number } | undefined;
  /** names in a directory, sorted ([] when it is none) */
  list(path: string): string[];
  /** the first bytes of a file */
  head(path: string, n: number): Buffer;
  read(path: string): Buffer;
  /** the tree at path as tar entries named under `name` (no end blocks) */
  tar(path: string, name: string, opts: TreeTarOptions): Generator<Buffer>;
  /**
   * What keys the cache for the tree at path (as `tar` would name it, mtimes left out), where
   * the source has it cheaper than its tar: a line per entry with its file's digest.
   */
  fingerprint?(path: string, name: string, opts: TreeTarOptions): Generator<string>;
  /** a source's hash as dockerd writes it in history (dockerdHash.ts); `rel` is relative to the root */
  dockerdHash(rel: string): string;
  close(): void;
}

/** A rootfs (a stage's or an image's) through a view: the kernel keeps every step inside it. */
export function viewSource(fs: FsAt, view: FsView): SourceTree {
  const withEntry = <T>(path: string, f: (e: ViewEntry) => T): T => {
    const entry = view.lookup(path, true);
    try {
      return f(entry);
    } finally {
      fs.close(entry.fd);
    }
  };
  const readN = (path: string, n?: number) => withEntry(path, (e) => {
    const fd = fs.reopen(e.fd, O.RDONLY | O.NONBLOCK);
    try {
      const buf = Buffer.alloc(Math.min(n ?? e.stat.size, e.stat.size));
      return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
    } finally {
      fs.close(fd);
    }
  });
  return {
    stat(path) {
      try {
        return withEntry(path, (e) => ({ isDir: isDir(e.stat), isFile: isFile(e.stat), size: e.stat.size }));
      } catch {
        return undefined;
      }
    },
    list: (path) => listDir(fs, view, path),
    head: (path, n) => readN(path, n),
    read: (path) => readN(path),
    *tar(path, name, opts) {
      const entry = view.lookup(path, true);
      try {
        const cut = name ? name.length + 1 : 0;
        const exclude = opts.exclude && ((n: string) => n.length > cut && opts.exclude!(n.slice(cut)));
        yield* tarChunks(fs, null, entry, name, { ...opts, exclude, noEnd: true });
      } finally {
        fs.close(entry.fd);
      }
    },
    dockerdHash(rel) {
      const root = rel ? undefined : withEntry('/', (e) => ({ mode: e.stat.mode & 0o7777, uid: e.stat.uid, gid: e.stat.gid }));
      return dockerdImageHash(this.tar(`/${rel}`, rel, {}), root);
    },
    close: () => view.close(),
  };
}

/** The build context as it arrived (contextTree.ts). */
export function contextSource(tree: ContextTree): SourceTree {
  const node = (path: string) => tree.lookup(path, true);
  const must = (path: string) => {
    const n = node(path);
    if (!n) throw notFound(`${path}: file does not exist`);
    return n;
  };
  /** The entries under a node as they land: names, and metadata after --chown, --chmod and the mtime clamp. */
  function* walk(n: CtxNode, name: string, opts: TreeTarOptions, rel = ''): Generator<[CtxNode, { name: string; mode: number; uid: number; gid: number; mtime: number }]> {
    if (rel && opts.exclude?.(rel)) return;
    yield [n, { name, mode: opts.chmod ?? n.mode, uid: opts.owner?.uid ?? n.uid, gid: opts.owner?.gid ?? n.gid, mtime: opts.mtime ?? Math.min(n.mtime, opts.clampMtime ?? Infinity) }];
    if (n.type !== 'dir') return;
    for (const c of tree.list(n)) yield* walk(n.children!.get(c)!, name ? `${name}/${c}` : c, opts, rel ? `${rel}/${c}` : c);
  }
  function* tar(n: CtxNode, name: string, opts: TreeTarOptions): Generator<Buffer> {
    for (const [node, e] of walk(n, name, opts)) {
      if (node.type === 'dir') {
        if (e.name) yield tarHeader({ ...e, name: `${e.name}/`, type: 'dir' });
      } else if (node.type === 'symlink') {
        yield tarHeader({ ...e, type: 'symlink', linkname: node.linkname });
      } else {
        yield tarHeader({ ...e, type: 'file', size: node.size });
        yield* tree.chunks(node);
        yield tarPadding(node.size);
      }
    }
  }
  /** A line per entry (JSON: the name and link target may hold anything), some thousands at a time. */
  function* fingerprint(n: CtxNode, name: string, opts: TreeTarOptions): Generator<string> {
    let lines: string[] = [];
    for (const [node, e] of walk(n, name, opts)) {
      if (node.type === 'dir' && !e.name) continue;
      const what = node.type === 'file' ? `${node.size} ${tree.digest(node)}` : node.type === 'symlink' ? JSON.stringify(node.linkname ?? '') : '';
      lines.push(`${node.type} ${JSON.stringify(e.name)} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${what}\n`);
      if (lines.length === 4096) {
        yield lines.join('');
        lines = [];
      }
    }
    if (lines.length) yield lines.join('');
  }
  return {
    stat(path) {
      const n = node(path);
      return n && { isDir: n.type === 'dir', isFile: n.type === 'file', size: n.size };
    },
    list(path) {
      const n = node(path);
      return n?.type === 'dir' ? tree.list(n) : [];
    },
    head: (path, n) => tree.read(must(path), n),
    dockerdHash: (rel) => dockerdContextHash(tree, rel),
    read: (path) => tree.read(must(path)),
    tar: (path, name, opts) => tar(must(path), name, opts),
    fingerprint: (path, name, opts) => fingerprint(must(path), name, opts),
    close: () => undefined,
  };
}

const GLOB = /[*?[]/;

/** Go's filepath.Match for one segment. */
function segmentRegExp(pat: string): RegExp {
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pat.indexOf(']', i + 1);
      if (end < 0) throw invalid(`syntax error in pattern: ${pat}`);
      re += `[${pat.slice(i + 1, end).replace(/^\^|^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pat.length) re += pat[++i].replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listDir(fs: FsAt, view: FsView, path: string): string[] {
  let entry: ViewEntry;
  try {
    entry = view.lookup(path, true);
  } catch {
    return [];
  }
  try {
    if (!isDir(entry.stat)) return [];
    const fd = fs.reopen(entry.fd, O.RDONLY | O.DIRECTORY);
    try {
      return fs.readdir(fd).map((d) => d.name).sort();
    } finally {
      fs.close(fd);
    }
  } finally {
    fs.close(entry.fd);
  }
}

/** The paths a source pattern names, relative to the root ('' for the root itself). */
/** A source's path segments without `.`, with `..` applied; the root is the top (BuildKit strips what climbs, as here). */
function normalParts(pattern: string): string[] {
  const kept: string[] = [];
  for (const p of pattern.split('/').filter((x) => x && x !== '.')) if (p === '..') kept.pop(); else kept.push(p);
  return kept;
}

function expandSource(source: SourceTree, pattern: string): string[] {
  let found = [''];
  for (const part of normalParts(pattern)) {
    const next: string[] = [];
    for (const base of found) {
      if (!GLOB.test(part)) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      const re = segmentRegExp(part);
      for (const name of source.list(`/${base}`)) if (re.test(name)) next.push(base ? `${base}/${name}` : name);
    }
    found = next;
  }
  return found;
}

function isArchive(head: Buffer): 'gzip' | 'tar' | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  return undefined;
}

interface Item {
  /** path in the source root */
  src: string;
  dir: boolean;
  /** the tar name it lands at, relative to / of the target */
  name: string;
  /** ADD of a local archive: extracted at `name` */
  extract?: 'gzip' | 'tar';
}

export class CopyJob {
  private readonly items: Item[] = [];
  /** heredocs and downloads: files made from bytes in hand */
  private readonly heredocItems: { name: string; body: Buffer; mode: number; mtime?: number }[] = [];
  private readonly owner: { uid: number; gid: number };
  private readonly exclude?: (rel: string) => boolean;

  private digested?: string;
  private dockerd?: string;

  constructor(private readonly source: SourceTree, private readonly plan: CopyPlan, owner: { uid: number; gid: number } | undefined, destIsDir: boolean) {
    this.owner = owner ?? { uid: 0, gid: 0 };
    const paths: string[] = [];
    /** --parents: what each path keeps starts after its source's `./` pivot (`a/./b/c` keeps `b/c`) */
    const kept = new Map<string, string>();
    for (const s of plan.sources) {
      if (/^[a-z]+:\/\//i.test(s)) throw invalid(`source can't be a URL for COPY`);
      const found = expandSource(source, s).filter((p) => source.stat(`/${p}`));
      if (!found.length) {
        const where = plan.from ? `in ${plan.from}` : 'in build context or excluded by .dockerignore';
        throw notFound(`COPY failed: file not found ${where}: stat ${s}: file does not exist`);
      }
      const pivot = s.replace(/^(\.\/)+/, '').indexOf('/./');
      const depth = pivot < 0 ? 0 : normalParts(s.replace(/^(\.\/)+/, '').slice(0, pivot)).length;
      for (const p of found) kept.set(p, p.split('/').slice(depth).join('/'));
      paths.push(...found);
    }
    const many = paths.length + plan.heredocs.length + (plan.downloads?.length ?? 0) > 1;
    const intoDir = plan.dest.endsWith('/') || destIsDir;
    if (many && !intoDir) {
      throw invalid(`When using ${plan.add ? 'ADD' : 'COPY'} with more than one source file, the destination must be a directory and end with a /`);
    }
    const dest = plan.dest.replace(/^\/+/, '').replace(/\/+$/, '');
    const join = (a: string, b: string) => (a && b ? `${a}/${b}` : a || b);
    this.exclude = plan.exclude?.length ? ignoreMatcher(plan.exclude.join('\n')) : undefined;
    for (const p of paths) {
      const st = source.stat(`/${p}`)!;
      if (st.isDir) {
        this.items.push({ src: p, dir: true, name: plan.parents ? join(dest, kept.get(p)!) : dest });
        continue;
      }
      if (this.exclude?.(p.split('/').pop()!)) continue;
      const name = plan.parents ? join(dest, kept.get(p)!) : intoDir ? join(dest, p.split('/').pop()!) : dest;
      const extract = plan.add && st.isFile && !plan.from ? isArchive(source.head(`/${p}`, 262)) : undefined;
      this.items.push({ src: p, dir: false, name: extract ? dest : name, extract });
    }
    for (const h of plan.heredocs) this.heredocItems.push({ name: intoDir ? join(dest, h.name) : dest, body: Buffer.from(h.body), mode: 0o644 });
    for (const d of plan.downloads ?? []) this.heredocItems.push({ name: intoDir ? join(dest, d.name) : dest, body: d.body, mode: 0o600, mtime: d.mtime });
  }

  private chunks(forDigest: false): Generator<Buffer>;
  private chunks(forDigest: true): Generator<Buffer | string>;
  private *chunks(forDigest: boolean): Generator<Buffer | string> {
    const { source } = this;
    const mode = this.plan.chmod;
    for (const it of this.items) {
      if (it.extract) {
        // The archive's own entries land under the destination (read whole: build contexts are local files).
        const data = source.read(`/${it.src}`);
        if (forDigest) {
          yield Buffer.from(`archive ${it.name} ${createHash('sha256').update(data).digest('hex')}\n`);
          continue;
        }
        yield* prefixed(it.extract === 'gzip' ? gunzipSync(data) : data, it.name);
        continue;
      }
      const opts = { owner: this.plan.from && !this.plan.chown ? undefined : this.owner, chmod: mode, exclude: this.exclude, clampMtime: this.plan.clampMtime, ...(forDigest ? { mtime: 0 } : {}) };
      if (forDigest && source.fingerprint) {
        yield `entries ${it.name}\n`;
        yield* source.fingerprint(`/${it.src}`, it.name, opts);
        continue;
      }
      if (forDigest) yield Buffer.from(`tree ${it.name}\n`);
      yield* source.tar(`/${it.src}`, it.name, opts);
    }
    for (const h of this.heredocItems) {
      yield tarHeader({ name: h.name, type: 'file', mode: mode ?? h.mode, uid: this.owner.uid, gid: this.owner.gid, size: h.body.length, mtime: forDigest ? 0 : Math.min(h.mtime ?? Date.now() / 1000, this.plan.clampMtime ?? Infinity) });
      yield h.body;
      yield tarPadding(h.body.length);
    }
  }

  /** The tar entries the copy writes (no end blocks). */
  entries(): Generator<Buffer> {
    return this.chunks(false);
  }

  /** What the sources hold, without mtimes (read once). */
  digest(): string {
    if (!this.digested) {
      const h = createHash('sha256');
      for (const c of this.chunks(true)) h.update(c);
      this.digested = `sha256:${h.digest('hex')}`;
    }
    return this.digested;
  }

  /**
   * The sources as dockerd's history names them (dockerdHash.ts), read once more from their
   * trees with their own owners; undefined for heredocs and downloads, which dockerd has not.
   */
  dockerdSummary(): string | undefined {
    if (this.heredocItems.length || !this.items.length) return undefined;
    this.dockerd ??= dockerdMultiHash(this.items.map((it) => this.source.dockerdHash(it.src)));
    return this.dockerd;
  }

  /** Berth's own words for a COPY dockerd cannot make: file:<hash>, dir:<hash> or multi:<hash>. */
  summary(): string {
    const kind = this.items.length + this.heredocItems.length > 1 ? 'multi' : this.items[0]?.dir ? 'dir' : 'file';
    return `${kind}:${this.digest().slice(7)}`;
  }

  /** The copy as a whole archive. */
  *tar(): Generator<Buffer> {
    yield* this.entries();
    yield TAR_END;
  }
}

/** A tar's entries renamed under `dir` (ADD of a local archive). */
function* prefixed(tar: Buffer, dir: string): Generator<Buffer> {
  let pos = 0;
  while (pos + 512 <= tar.length) {
    const h = Buffer.from(tar.subarray(pos, pos + 512));
    if (h.every((b) => b === 0)) return;
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156]);
    const padded = Math.ceil(size / 512) * 512;
    const body = tar.subarray(pos + 512, pos + 512 + padded);
    pos += 512 + padded;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      throw invalid(`ADD: archives with long names or PAX headers are not supported yet by Berth's builder`);
    }
    const prefix = h.toString('utf8', 345, 500).replace(/\0.*$/, '');
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/, '');
    const full = (prefix ? `${prefix}/${name}` : name).replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    if (!full || full === '.') continue;
    const linkname = h.toString('utf8', 157, 257).replace(/\0.*$/, '');
    const mode = parseInt(h.toString('latin1', 100, 108).replace(/\0.*$/, '').trim() || '0', 8);
    const uid = parseInt(h.toString('latin1', 108, 116).replace(/\0.*$/, '').trim() || '0', 8);
    const gid = parseInt(h.toString('latin1', 116, 124).replace(/\0.*$/, '').trim() || '0', 8);
    const mtime = parseInt(h.toString('latin1', 136, 148).replace(/\0.*$/, '').trim() || '0', 8);
    const kinds: Record<string, 'file' | 'dir' | 'symlink' | 'hardlink'> = { '0': 'file', '\0': 'file', '5': 'dir', '2': 'symlink', '1': 'hardlink' };
    const kind = kinds[type];
    if (!kind) continue;
    const renamed = dir ? `${dir}/${full}` : full;
    yield tarHeader({
      name: kind === 'dir' ? `${renamed.replace(/\/$/, '')}/` : renamed, type: kind, mode, uid, gid, mtime,
      linkname: kind === 'hardlink' ? (dir ? `${dir}/${linkname.replace(/^(\.\/)+|^\/+/, '')}` : linkname) : linkname, size: kind === 'file' ? size : 0,
    });
    if (kind === 'file') yield Buffer.from(body);
  }
}

/**
 * Where a COPY destination lands in a rootfs: symlinks on the way resolved inside it (as the
 * container would see the path), and a directory entry for each existing directory on the way,
 * with its metadata, so the new layer changes nothing of them.
 */
export function resolveDest(fs: FsAt, view: FsView, dest: string, clampMtime = Infinity): { dest: string; parents: Buffer[] } {
  const parts = dest.split('/').filter((p) => p && p !== '.');
  const parents: Buffer[] = [];
  let resolved = '';
  let i = 0;
  for (; i < parts.length; i++) {
    let entry;
    try {
      entry = view.lookup(`${resolved}/${parts[i]}`, true, { resolvedPath: true });
    } catch {
      break;
    }
    try {
      if (!isDir(entry.stat)) break;
      resolved = entry.path === '/' ? '' : entry.path;
      const st = entry.stat;
      if (resolved) parents.push(tarHeader({ name: `${resolved.slice(1)}/`, type: 'dir', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.min(st.mtimeMs / 1000, clampMtime) }));
    } finally {
      fs.close(entry.fd);
    }
  }
  const rest = parts.slice(i).join('/');
  const out = `${resolved}/${rest}`.replace(/\/+$/, '') || '/';
  return { dest: dest.endsWith('/') && out !== '/' ? `${out}/` : out, parents };
}
