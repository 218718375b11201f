// A build context as it arrived: the tar file, indexed, never unpacked. COPY and ADD read
// their sources out of it, symlinks are resolved against the index (so a link to /etc/passwd
// names the context's own etc/passwd, and nothing on the host is ever looked at), and the
// digest that keys the cache reads the bytes in place. A 10,000-file context costs one pass
// over its headers instead of 10,000 files written and read back, and that pass is made while
// the context arrives (ContextIndex), along with the digests of its small files: the client
// is still sending then, so a cached build has little left to do when the last byte is in.
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { invalid } from '../errors.ts';
import { tarsumHeader } from './tarsum.ts';

export interface CtxNode {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  /** where the data starts in the tar file */
  offset: number;
  linkname?: string;
  /** the header's own mode field (type bits as the client wrote them) and user and group names: what dockerd's hashes read; none for a directory no entry named */
  raw?: { mode: number; uname: string; gname: string };
  children?: Map<string, CtxNode>;
  /** sha256 of a file's bytes (hex): taken as they arrived for small files, else on first use */
  digest?: string;
  /** a small file's hash as dockerd's history has it (dockerdHash.ts) at its own path, taken as it arrived */
  tarsum?: { path: string; hex: string };
}

const MAX_HOPS = 40;
const WINDOW = 4 << 20;
const ZERO_BLOCK = Buffer.alloc(512);
/** files up to this size are read through the window, and digested as they arrive */
const SMALL = 64 << 10;
/** a PAX or GNU long-name entry's body, at most (Go's archive/tar has the same bound) */
const META_MAX = 1 << 20;

function octal(h: Buffer, at: number, len: number): number {
  if (h[at] & 0x80) {
    let n = 0;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + h[i];
    return n;
  }
  // digits after optional spaces, up to a NUL or a space (the bytes read, not a string made of them)
  let i = at;
  while (i < at + len && h[i] === 0x20) i++;
  let n = 0;
  for (; i < at + len; i++) {
    const c = h[i];
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

function cstr(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function clean(name: string): string[] | undefined {
  const parts = name.split('/').filter((p) => p && p !== '.');
  return parts.some((p) => p === '..') ? undefined : parts;
}

/** A context entry's hash as dockerd's history has it, at `path`, with its header in (a file's bytes still to come). */
export function contextEntryHash(path: string, n: CtxNode): Hash {
  return tarsumHeader({ name: n.type === 'dir' ? `${path}/` : path, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, linkname: n.linkname ?? '', uname: n.raw!.uname, gname: n.raw!.gname }, n.raw!.mode);
}

const newDir = (): CtxNode => ({ type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, offset: 0, children: new Map() });

/**
 * A tar's headers parsed as its bytes come, in chunks of any size: the tree of its entries, where
 * each one's data starts, and the digests of the small files. A malformed header ends the
 * parse; finish() then throws what was wrong (the body is still read whole, as dockerd reads it).
 */
export class ContextIndex {
  readonly root = newDir();
  entries = 0;
  /** the offset of the next byte */
  private pos = 0;
  private readonly head = Buffer.alloc(512);
  private headLen = 0;
  /** data and padding still to pass before the next header */
  private skip = 0;
  /** a PAX or GNU long-name entry's body being gathered */
  private meta?: { flag: string; body: Buffer; got: number };
  /** a small file being digested, and hashed as dockerd's history has it */
  private file?: { node: CtxNode; path: string; hash: Hash; tarsum: Hash; left: number };
  private pax = new Map<string, string>();
  private longName?: string;
  private longLink?: string;
  private readonly hardlinks: [string[], string][] = [];
  private done = false;
  private error?: Error;

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.done) {
      if (this.skip) {
        const n = Math.min(this.skip, chunk.length - at);
        this.data(chunk.subarray(at, at + n));
        this.skip -= n;
        this.pos += n;
        at += n;
        continue;
      }
      const n = Math.min(512 - this.headLen, chunk.length - at);
      chunk.copy(this.head, this.headLen, at, at + n);
      this.headLen += n;
      this.pos += n;
      at += n;
      if (this.headLen < 512) break;
      this.headLen = 0;
      try {
        this.header(this.head);
      } catch (e) {
        this.error = e as Error;
        this.done = true;
      }
    }
  }

  /** The tree, once every byte is in; throws when the archive was malformed. */
  finish(): CtxNode {
    if (this.error) throw this.error;
    if (this.headLen && !this.done) throw invalid('archive/tar: unexpected end of the build context (truncated header)');
    // (a file cut short keeps no digest: reading it says the context ends inside it)
    for (const [parts, target] of this.hardlinks.splice(0)) {
      const t = clean(target);
      const node = t && this.at(t);
      if (node && node.type === 'file') this.put(parts, { ...node });
    }
    return this.root;
  }

  private data(bytes: Buffer): void {
    const m = this.meta;
    if (m) {
      const n = Math.min(bytes.length, m.body.length - m.got);
      bytes.copy(m.body, m.got, 0, n);
      m.got += n;
      if (m.got === m.body.length) {
        this.meta = undefined;
        this.metaEntry(m.flag, m.body);
      }
      return;
    }
    const f = this.file;
    if (f) {
      const n = Math.min(bytes.length, f.left);
      const data = n === bytes.length ? bytes : bytes.subarray(0, n);
      f.hash.update(data);
      f.tarsum.update(data);
      f.left -= n;
      if (!f.left) {
        f.node.digest = f.hash.digest('hex');
        f.node.tarsum = { path: f.path, hex: f.tarsum.digest('hex') };
        this.file = undefined;
      }
    }
  }

  private metaEntry(flag: string, body: Buffer): void {
    if (flag === 'L') this.longName = body.toString('utf8').replace(/\0.*$/s, '');
    else if (flag === 'K') this.longLink = body.toString('utf8').replace(/\0.*$/s, '');
    else if (flag === 'x') {
      for (let off = 0; off < body.length;) {
        const sp = body.indexOf(0x20, off);
        const len = parseInt(body.toString('ascii', off, sp), 10);
        if (!Number.isFinite(len) || len <= 0) break;
        const rec = body.toString('utf8', sp + 1, off + len - 1);
        const eq = rec.indexOf('=');
        this.pax.set(rec.slice(0, eq), rec.slice(eq + 1));
        off += len;
      }
    }
  }

  private header(h: Buffer): void {
    if (h.equals(ZERO_BLOCK)) {
      this.done = true;
      return;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== octal(h, 148, 8)) throw invalid(`archive/tar: invalid tar header${this.entries ? ' (corrupt build context)' : ': the build context must be a tar archive (plain, gzip, bzip2, xz or zstd)'}`);
    const flag = String.fromCharCode(h[156]);
    const { pax } = this;
    const size = pax.has('size') ? Number(pax.get('size')) : octal(h, 124, 12);
    const dataAt = this.pos;
    this.skip = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > META_MAX) throw invalid(`archive/tar: a ${flag === 'x' || flag === 'g' ? 'PAX' : 'long name'} header of ${size} bytes in the build context is too large (at most ${META_MAX})`);
      this.meta = { flag, body: Buffer.alloc(size), got: 0 };
      if (!size) this.data(Buffer.alloc(0));
      return;
    }
    const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? cstr(h, 345, 155) : '';
    const name = pax.get('path') ?? this.longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
    const linkname = pax.get('linkpath') ?? this.longLink ?? cstr(h, 157, 100);
    const owners = { uname: pax.get('uname') ?? cstr(h, 265, 32), gname: pax.get('gname') ?? cstr(h, 297, 32) };
    this.pax = new Map();
    this.longName = this.longLink = undefined;
    this.entries++;
    const parts = clean(name);
    if (!parts) return; // `..` in a name: never part of the context
    const mode = octal(h, 100, 8);
    const raw = { mode, ...owners };
    const base = { mode: mode & 0o7777, uid: octal(h, 108, 8), gid: octal(h, 116, 8), mtime: octal(h, 136, 12), size: 0, offset: 0, raw };
    if (flag === '5') this.put(parts, { ...base, type: 'dir', children: this.at(parts)?.children ?? new Map() });
    else if (flag === '2') this.put(parts, { ...base, type: 'symlink', linkname });
    else if (flag === '1') this.hardlinks.push([parts, linkname]);
    else if (flag === '0' || flag === '\0' || flag === '7') {
      const node: CtxNode = { ...base, type: 'file', size, offset: dataAt };
      this.put(parts, node);
      if (size <= SMALL) {
        const path = parts.join('/');
        this.file = { node, path, hash: createHash('sha256'), tarsum: contextEntryHash(path, node), left: size };
        if (!size) this.data(Buffer.alloc(0));
      }
    }
    // devices and FIFOs are not part of a build context
  }

  at(parts: string[]): CtxNode | undefined {
    let n: CtxNode | undefined = this.root;
    for (const p of parts) n = n?.children?.get(p);
    return n;
  }

  private put(parts: string[], node: CtxNode): void {
    let dir = this.root;
    for (const p of parts.slice(0, -1)) {
      let next = dir.children!.get(p);
      if (!next || next.type !== 'dir') {
        next = newDir();
        dir.children!.set(p, next);
      }
      dir = next;
    }
    dir.children!.set(parts.at(-1)!, node);
  }
}

export class ContextTree {
  private readonly fd: number;
  /** a window of the file: small files are read out of it, not one syscall each */
  private window = { start: 0, buf: Buffer.alloc(0) };
  /** small-file reads, the window refills they caused, and whether they stopped using it */
  private reads = { total: 0, refills: 0, direct: false };

  private constructor(readonly file: string, private readonly index: ContextIndex) {
    this.fd = openSync(file, 'r');
  }

  get root(): CtxNode {
    return this.index.root;
  }

  get entries(): number {
    return this.index.entries;
  }

  /**
   * A plain tar file with its index: the one made while the file arrived, or one made here by
   * a pass over its headers.
   */
  static open(file: string, index?: ContextIndex): ContextTree {
    const t = new ContextTree(file, index ?? new ContextIndex());
    try {
      if (!index) {
        const buf = Buffer.allocUnsafe(WINDOW);
        for (let pos = 0, n; (n = readSync(t.fd, buf, 0, WINDOW, pos)) > 0; pos += n) t.index.push(buf.subarray(0, n));
      }
      t.index.finish();
    } catch (e) {
      t.close();
      throw e;
    }
    return t;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** `len` bytes at `pos` into `out` (fewer only at the end of the file), through the window. */
  private pread(out: Buffer, off: number, len: number, pos: number): number {
    if (len > WINDOW / 4) return readSync(this.fd, out, off, len, pos);
    const w = this.window;
    if (pos < w.start || pos + len > w.start + w.buf.length) {
      this.reads.refills++;
      const buf = w.buf.length === WINDOW ? w.buf : Buffer.allocUnsafe(WINDOW);
      const n = readSync(this.fd, buf, 0, WINDOW, pos);
      this.window = { start: pos, buf: buf.subarray(0, n) };
    }
    const from = pos - this.window.start;
    const n = Math.max(0, Math.min(len, this.window.buf.length - from));
    this.window.buf.copy(out, off, from, from + n);
    return n;
  }

  /**
   * The node at a path, symlinks resolved inside the context (an absolute target starts at its
   * root, `..` stops there); the last one only when `followLast`. Undefined when nothing is there.
   */
  lookup(path: string, followLast = true): CtxNode | undefined {
    return this.resolve(path, followLast)?.node;
  }

  /** The node at a path and the path it really has (symlinks resolved as lookup does them). */
  resolve(path: string, followLast = true): { node: CtxNode; path: string } | undefined {
    const stack = path.split('/').filter((p) => p && p !== '.').reverse();
    const trail: CtxNode[] = [this.root];
    const names: string[] = [];
    let hops = 0;
    while (stack.length) {
      const part = stack.pop()!;
      if (part === '..') {
        if (trail.length > 1) {
          trail.pop();
          names.pop();
        }
        continue;
      }
      const node = trail.at(-1)!.children?.get(part);
      if (!node) return undefined;
      if (node.type === 'symlink' && (stack.length || followLast)) {
        if (++hops > MAX_HOPS) return undefined;
        const target = node.linkname ?? '';
        if (target.startsWith('/')) {
          trail.splice(1);
          names.length = 0;
        }
        stack.push(...target.split('/').filter((p) => p && p !== '.').reverse());
        continue;
      }
      if (stack.length && node.type !== 'dir') return undefined;
      trail.push(node);
      names.push(part);
    }
    return { node: trail.at(-1)!, path: names.join('/') };
  }

  /** Names in a directory, sorted. */
  list(node: CtxNode): string[] {
    return [...(node.children?.keys() ?? [])].sort();
  }

  /** Drops an entry (dockerd's rule for a Dockerfile or .dockerignore that .dockerignore names). */
  remove(name: string): void {
    const parts = clean(name);
    if (!parts?.length) return;
    this.index.at(parts.slice(0, -1))?.children?.delete(parts.at(-1)!);
  }

  /** A file's bytes, at most `max`. */
  read(node: CtxNode, max = node.size, from = 0): Buffer {
    const n = Math.max(0, Math.min(max, node.size - from));
    const buf = Buffer.alloc(n);
    const pos = node.offset + from;
    // Small files come through the window while COPY's order follows the tar's (the usual
    // case: both sorted by name), a syscall each when it does not.
    if (n <= SMALL && this.inOrder()) {
      const got = this.pread(buf, 0, n, pos);
      if (got < n) throw invalid('archive/tar: the build context ends inside a file (truncated)');
      return buf;
    }
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, pos + got);
      if (r <= 0) throw invalid('archive/tar: the build context ends inside a file (truncated)');
      got += r;
    }
    return buf;
  }

  /**
   * Whether the window serves small reads: yes until refills come more often than once in ten
   * reads (COPY's order is not the tar's), then never again for this context.
   */
  private inOrder(): boolean {
    const s = this.reads;
    if (s.direct) return false;
    s.total++;
    s.direct = s.refills > 2 && s.refills * 10 > s.total;
    return !s.direct;
  }

  /** sha256 of a file's bytes (hex), taken once. */
  digest(node: CtxNode): string {
    if (!node.digest) {
      const h = createHash('sha256');
      for (const c of this.chunks(node)) h.update(c);
      node.digest = h.digest('hex');
    }
    return node.digest;
  }

  /** A file's bytes in chunks (for files too big to hold). */
  *chunks(node: CtxNode, size = 1 << 20): Generator<Buffer> {
    for (let at = 0; at < node.size; at += size) yield this.read(node, size, at);
  }
}
