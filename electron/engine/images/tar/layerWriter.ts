// Writes tar entries into one layer directory, and nowhere else. Every entry path is cleaned
// and must stay inside the root; every parent on the way is checked to be a real directory we
// made or saw (never a symlink), every entry is created exclusively (files O_EXCL|O_NOFOLLOW)
// and only where that finds an old entry is the old one removed and the create repeated, and
// hard links may only point at entries already inside the layer. Whiteouts become
// overlay whiteouts (char 0:0) and opaque directories (trusted.overlay.opaque=y).
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, chmodSync,
  mkdirSync, openSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeSync,
} from 'node:fs';
import type { TarHeader, TarSink } from './tarParser.ts';

export interface NodeOps {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
}

export interface LayerWriterOptions {
  /** 'overlay': .wh.* entries become overlay whiteouts; 'plain': only files, dirs and links (archives that are not layers) */
  mode: 'overlay' | 'plain';
  /** apply owners from the archive (needs root) */
  chown: boolean;
}

export class LayerPathError extends Error {}

const EEXIST = 17;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';

/** Cleans a tar entry name to a path relative to the layer root ('' is the root itself). */
export function cleanEntryPath(name: string): string {
  if (name.includes('\0')) throw new LayerPathError(`entry name contains NUL: ${JSON.stringify(name)}`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new LayerPathError(`entry ${JSON.stringify(name)} points outside the layer`);
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}

export class LayerWriter implements TarSink {
  private readonly dirs = new Set<string>(['']);
  private readonly dirTimes: { abs: string; mtime: number }[] = [];
  /** The root started empty (a new layer): every directory in it is one this writer made. */
  private readonly fresh: boolean;
  /** fresh root only: directories with the set-group-ID bit, whose new entries take their group */
  private readonly sgidDirs = new Set<string>();
  /** what a new file gets without fchown/fchmod: the creator's ids, and its mode through the umask */
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  private readonly umask = process.umask();
  private fd = -1;
  private current: { abs: string; rel: string; h: TarHeader } | null = null;
  entries = 0;
  size = 0;

  constructor(private readonly root: string, private readonly ops: NodeOps, private readonly opts: LayerWriterOptions) {
    this.fresh = readdirSync(root).length === 0;
  }

  private abs(rel: string): string {
    return rel ? `${this.root}/${rel}` : this.root;
  }

  /** Makes sure every directory on the way to rel exists and none of them is a symlink. */
  private ensureDir(rel: string, create: boolean, entryName: string): void {
    if (this.dirs.has(rel)) return;
    const parts = rel.split('/');
    let p = '';
    for (const part of parts) {
      p = p ? `${p}/${part}` : part;
      if (this.dirs.has(p)) continue;
      // Most paths are new: no throw (an Error with its stack per entry costs more than the syscall).
      const st = lstatSync(this.abs(p), { throwIfNoEntry: false });
      if (!st) {
        if (!create) throw new LayerPathError(`entry ${JSON.stringify(entryName)}: ${p} is not in the layer`);
        mkdirSync(this.abs(p), 0o755);
        this.noteSgid(p, this.sgidDirs.has(this.parentOf(p))); // a new directory inherits it
      } else if (st.isSymbolicLink()) {
        throw new LayerPathError(`entry ${JSON.stringify(entryName)} would be written through the symlink ${p}`);
      } else if (!st.isDirectory()) {
        throw new LayerPathError(`entry ${JSON.stringify(entryName)}: ${p} is not a directory`);
      }
      this.dirs.add(p);
    }
  }

  private parentOf(rel: string): string {
    const i = rel.lastIndexOf('/');
    return i < 0 ? '' : rel.slice(0, i);
  }

  /** Removes whatever is at rel unless both it and the new entry are directories. Returns true when a directory stays. */
  private clear(rel: string, keepDir: boolean): boolean {
    const st = lstatSync(this.abs(rel), { throwIfNoEntry: false });
    if (!st) return false;
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory()) {
      rmSync(this.abs(rel), { recursive: true, force: true });
      const inside = (p: string) => p === rel || p.startsWith(`${rel}/`);
      for (const set of [this.dirs, this.sgidDirs]) for (const p of set) if (inside(p)) set.delete(p);
    } else {
      unlinkSync(this.abs(rel));
    }
    return false;
  }

  /**
   * Creates an entry at rel with make(), which must fail with EEXIST where something is there
   * (O_EXCL, mkdir, symlink, link, mknod all do). Nearly every path in a layer is new, so it is
   * not looked up first: only where the create fails is the old entry cleared and the create
   * run again. Returns false when a directory was kept (keepDir) instead.
   */
  private create(rel: string, make: () => void, keepDir = false): boolean {
    try {
      make();
      return true;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EEXIST' && err.errno !== EEXIST) throw e;
    }
    if (this.clear(rel, keepDir)) return false;
    make();
    return true;
  }

  private noteSgid(dir: string, sgid: boolean): void {
    if (this.fresh && sgid) this.sgidDirs.add(dir);
    else this.sgidDirs.delete(dir);
  }

  /** Whether a new entry at rel already has this owner, so chown can be skipped. */
  private ownedAsCreated(rel: string, h: TarHeader): boolean {
    return this.fresh && h.uid === this.euid && h.gid === this.egid && !this.sgidDirs.has(this.parentOf(rel));
  }

  entry(h: TarHeader): void {
    this.entries++;
    const rel = cleanEntryPath(h.name);
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const parent = this.parentOf(rel);

    if (this.opts.mode === 'overlay' && base.startsWith(WH_PREFIX)) {
      this.ensureDir(parent, true, h.name);
      if (base === WH_OPAQUE) {
        this.ops.lsetxattr(this.abs(parent), 'trusted.overlay.opaque', Buffer.from('y'));
      } else {
        const target = parent ? `${parent}/${base.slice(WH_PREFIX.length)}` : base.slice(WH_PREFIX.length);
        if (!target || base.length === WH_PREFIX.length) throw new LayerPathError(`invalid whiteout entry ${JSON.stringify(h.name)}`);
        this.create(target, () => this.ops.mknod(this.abs(target), S_IFCHR, 0, 0));
      }
      return;
    }

    if (rel === '') {
      // The root entry ("/" or "./") only carries the root's metadata.
      if (h.type !== 'dir') throw new LayerPathError(`entry ${JSON.stringify(h.name)} would replace the layer root`);
      this.meta(this.root, h, false);
      this.noteSgid('', (h.mode & 0o2000) !== 0);
      this.dirTimes.push({ abs: this.root, mtime: h.mtime });
      return;
    }

    this.ensureDir(parent, true, h.name);
    const abs = this.abs(rel);
    const plain = this.opts.mode === 'plain';
    switch (h.type) {
      case 'dir': {
        const made = this.create(rel, () => mkdirSync(abs, 0o700), true);
        this.dirs.add(rel);
        this.meta(abs, h, false, made ? rel : undefined);
        this.noteSgid(rel, (h.mode & 0o2000) !== 0);
        this.dirTimes.push({ abs, mtime: h.mtime });
        return;
      }
      case 'file': {
        // Created with its final permission bits where the umask lets them through (then no
        // fchmod); set-id and sticky bits always go on after the chown, which would clear them.
        this.create(rel, () => (this.fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, h.mode & 0o777)));
        this.current = { abs, rel, h };
        this.size += h.size;
        return;
      }
      case 'symlink': {
        this.create(rel, () => symlinkSync(h.linkname, abs));
        this.meta(abs, h, true, rel);
        return;
      }
      case 'hardlink': {
        const target = cleanEntryPath(h.linkname);
        if (target === '') throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at the layer root`);
        this.ensureDir(this.parentOf(target), false, h.name);
        let st;
        try {
          st = lstatSync(this.abs(target));
        } catch {
          throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which is not in the layer`);
        }
        if (st.isDirectory()) throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at a directory`);
        if (target === rel) return;
        this.create(rel, () => linkSync(this.abs(target), abs));
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (plain) return;
        const kind = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
        this.create(rel, () => this.ops.mknod(abs, kind | 0o600, h.devmajor, h.devminor));
        this.meta(abs, h, false, rel);
        return;
      }
    }
  }

  data(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    if (!this.current) return;
    const { abs, rel, h } = this.current;
    try {
      if (this.opts.chown && !this.ownedAsCreated(rel, h)) fchownSync(this.fd, h.uid, h.gid);
      if ((h.mode & 0o7777) !== (h.mode & 0o777 & ~this.umask)) fchmodSync(this.fd, h.mode);
      futimesSync(this.fd, h.mtime, h.mtime);
    } finally {
      closeSync(this.fd);
      this.fd = -1;
      this.current = null;
    }
    this.xattrs(abs, h);
  }

  /** created: the entry's path when it was just made (then its owner may already be right) */
  private meta(abs: string, h: TarHeader, symlink: boolean, created?: string): void {
    if (this.opts.chown && !(created !== undefined && this.ownedAsCreated(created, h))) lchownSync(abs, h.uid, h.gid);
    if (!symlink) chmodSync(abs, h.mode);
    if (symlink) lutimesSync(abs, h.mtime, h.mtime);
    this.xattrs(abs, h);
  }

  private xattrs(abs: string, h: TarHeader): void {
    if (this.opts.mode === 'plain') return;
    for (const [name, value] of Object.entries(h.xattrs)) {
      // Overlay's own attributes (redirect, metacopy, opaque) would let an image steer the
      // overlay mount outside its layers: never taken from an archive.
      if (name.startsWith('trusted.overlay.')) continue;
      this.ops.lsetxattr(abs, name, value);
    }
  }

  /** Directory times last, once nothing more is written inside them. */
  finish(): void {
    if (this.fd >= 0) closeSync(this.fd);
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const { abs, mtime } = this.dirTimes[i];
      lutimesSync(abs, mtime, mtime);
    }
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
