// A build context as it arrived: the tar file, indexed, never unpacked. COPY and ADD read
// their sources out of it, symlinks are resolved against the index (so a link to /etc/passwd
// names the context's own etc/passwd, and nothing on the host is ever looked at), and the
// digest that keys the cache reads the bytes in place. A 10,000-file context costs one pass
// over its headers instead of 10,000 files written and read back.
import { closeSync, openSync, readSync } from 'node:fs';
import { invalid } from '../errors.ts';

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
}

const MAX_HOPS = 40;
const WINDOW = 4 << 20;
const ZERO_BLOCK = Buffer.alloc(512);
/** files up to this size are read through the window */
const SMALL = 64 << 10;

function octal(h: Buffer, at: number, len: number): number {
  if (h[at] & 0x80) {
    let n = 0;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + h[i];
    return n;
  }
  const s = h.toString('latin1', at, at + len).replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function cstr(h: Buffer, at: number, len: number): string {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end < 0 || end > at + len ? at + len : end);
}

function clean(name: string): string[] | undefined {
  const parts = name.split('/').filter((p) => p && p !== '.');
  return parts.some((p) => p === '..') ? undefined : parts;
}

export class ContextTree {
  readonly root: CtxNode = { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, offset: 0, children: new Map() };
  private readonly fd: number;
  entries = 0;
  /** a window of the file: headers and small files are read out of it, not one syscall each */
  private window = { start: 0, buf: Buffer.alloc(0) };
  /** small-file reads, the window refills they caused, and whether they stopped using it */
  private reads = { total: 0, refills: 0, direct: false };

  private constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
  }

  /** Indexes a plain tar file (a header pass; data is read later, in place). */
  static open(file: string): ContextTree {
    const t = new ContextTree(file);
    try {
      t.index();
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

  private index(): void {
    const h = Buffer.alloc(512);
    let pos = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    const hardlinks: [string[], string][] = [];
    for (;;) {
      const n = this.pread(h, 0, 512, pos);
      if (n === 0) break; // no end blocks: accepted, as dockerd does
      if (n < 512) throw invalid('archive/tar: unexpected end of the build context (truncated header)');
      if (h.equals(ZERO_BLOCK)) break;
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (sum !== octal(h, 148, 8)) throw invalid(`archive/tar: invalid tar header${this.entries ? ' (corrupt build context)' : ': the build context must be a tar archive (plain, gzip, bzip2, xz or zstd)'}`);
      const flag = String.fromCharCode(h[156]);
      let size = octal(h, 124, 12);
      if (pax.has('size')) size = Number(pax.get('size'));
      const dataAt = pos + 512;
      pos = dataAt + Math.ceil(size / 512) * 512;
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        const body = Buffer.alloc(size);
        this.pread(body, 0, size, dataAt);
        if (flag === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
        else if (flag === 'K') longLink = body.toString('utf8').replace(/\0.*$/s, '');
        else if (flag === 'x') {
          for (let off = 0; off < body.length;) {
            const sp = body.indexOf(0x20, off);
            const len = parseInt(body.toString('ascii', off, sp), 10);
            if (!Number.isFinite(len) || len <= 0) break;
            const rec = body.toString('utf8', sp + 1, off + len - 1);
            const eq = rec.indexOf('=');
            pax.set(rec.slice(0, eq), rec.slice(eq + 1));
            off += len;
          }
        }
        continue;
      }
      const prefix = h.subarray(257, 263).toString('latin1') === 'ustar\0' ? cstr(h, 345, 155) : '';
      const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
      const linkname = pax.get('linkpath') ?? longLink ?? cstr(h, 157, 100);
      const owners = { uname: pax.get('uname') ?? cstr(h, 265, 32), gname: pax.get('gname') ?? cstr(h, 297, 32) };
      pax = new Map();
      longName = longLink = undefined;
      this.entries++;
      const parts = clean(name);
      if (!parts) continue; // `..` in a name: never part of the context
      const mode = octal(h, 100, 8);
      const raw = { mode, ...owners };
      const base = { mode: mode & 0o7777, uid: octal(h, 108, 8), gid: octal(h, 116, 8), mtime: octal(h, 136, 12), size: 0, offset: 0, raw };
      if (flag === '5') this.put(parts, { ...base, type: 'dir', children: this.at(parts)?.children ?? new Map() });
      else if (flag === '2') this.put(parts, { ...base, type: 'symlink', linkname });
      else if (flag === '1') hardlinks.push([parts, linkname]);
      else if (flag === '0' || flag === '\0' || flag === '7') this.put(parts, { ...base, type: 'file', size, offset: dataAt });
      // devices and FIFOs are not part of a build context
    }
    this.reads = { total: 0, refills: 0, direct: false }; // the header pass's refills say nothing of COPY's order
    for (const [parts, target] of hardlinks) {
      const t = clean(target);
      const node = t && this.at(t);
      if (node && node.type === 'file') this.put(parts, { ...node });
    }
  }

  private at(parts: string[]): CtxNode | undefined {
    let n: CtxNode | undefined = this.root;
    for (const p of parts) n = n?.children?.get(p);
    return n;
  }

  private put(parts: string[], node: CtxNode): void {
    let dir = this.root;
    for (const p of parts.slice(0, -1)) {
      let next = dir.children!.get(p);
      if (!next || next.type !== 'dir') {
        next = { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, offset: 0, children: new Map() };
        dir.children!.set(p, next);
      }
      dir = next;
    }
    dir.children!.set(parts.at(-1)!, node);
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
    this.at(parts.slice(0, -1))?.children?.delete(parts.at(-1)!);
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

  /** A file's bytes in chunks (for files too big to hold). */
  *chunks(node: CtxNode, size = 1 << 20): Generator<Buffer> {
    for (let at = 0; at < node.size; at += size) yield this.read(node, size, at);
  }
}
