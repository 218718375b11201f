// Writes tar entries into one directory tree (a layer, or a directory inside a container or a
// volume), and nowhere else. Every entry path is cleaned and must stay inside the root. Every
// operation is relative to a directory descriptor: a parent is opened with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so the kernel refuses a symlink anywhere on the way
// even if one is swapped in while we write; every entry is created exclusively (O_EXCL,
// mkdirat, symlinkat, linkat, mknodat) and only where that finds an old entry is the old one
// removed (by descriptors, see removeAt) and the create repeated; metadata goes on through
// the entry's own descriptor or an *at call that does not follow it. Hard links may only point
// at entries already inside the root. Whiteouts become overlay whiteouts (char 0:0) and
// opaque directories (trusted.overlay.opaque=y, or user.overlay.opaque=y in a user namespace,
// where the overlay is mounted with userxattr).
import { createHash, type Hash } from 'node:crypto';
import { fchmodSync, fchownSync, futimesSync, readFileSync, writeSync, chmodSync } from 'node:fs';
import { removeAt } from '../../confined/tree.ts';
import { AT, FsAtError, O, RESOLVE, S, isDir, type FsAt } from '../../sys/fsat.ts';
import type { TarHeader, TarSink } from './tarParser.ts';
import { inUserNamespace } from '../../sys/userns.ts';

export interface LayerWriterOptions {
  /**
   * 'overlay': a layer (.wh.* entries become overlay whiteouts); 'plain': only files, dirs and
   * links, no xattrs (docker cp); 'copy': everything but whiteouts (a copy of a tree)
   */
  mode: 'overlay' | 'plain' | 'copy';
  /** apply owners from the archive (needs root) */
  chown: boolean;
}

/**
 * A new layer's regular files by path, each as `fingerprint`: its content's digest and the
 * metadata a hard link would share. The files of one layer a later one may link to.
 */
export type LayerFiles = Map<string, string>;

/** Options of a writer filling a fresh layer (overlay mode). */
export interface LayerLinkOptions {
  /** filled with the fingerprint of every regular file written (none with xattrs) */
  index?: LayerFiles;
  /**
   * A stored layer whose unchanged files are hard-linked instead of written (no new inode, no
   * data written): its root, open, and its index. Only where path, content, mode, owner and
   * mtime all match, and the linked file checks out again by its own metadata. Layers are never
   * written once stored, so the shared inode never changes under either.
   */
  like?: { fd: number; files: LayerFiles };
}

/** Files up to this size are held until their end to see whether a stored layer has them. */
const LINK_MAX = 1 << 20;

function fingerprint(digest: string, h: TarHeader): string {
  return `${digest}:${(h.mode & 0o7777).toString(8)}:${h.uid}:${h.gid}:${h.mtime}:${h.size}`;
}

/** A mount below the root (a container's volume inside the directory a `docker cp` writes to). */
export interface WriterMount {
  /** O_PATH descriptor of the mount's root, held by the caller */
  fd: number;
  /** a directory (a file bind is only a point nothing may replace) */
  dir: boolean;
  readOnly: boolean;
}

export class LayerPathError extends Error {}

/** The xattr that marks an opaque directory for the overlay this engine mounts. */
const OPAQUE = () => (inUserNamespace() ? 'user.overlay.opaque' : 'trusted.overlay.opaque');

/** Whether uid and gid are inside this process's id maps. */
function mapped(uid: number, gid: number): boolean {
  const inside = (file: string, id: number) => {
    try {
      return readFileSync(file, 'utf8').split('\n').some((l) => {
        const [a, , n] = l.trim().split(/\s+/).map(Number);
        return id >= a && id < a + n;
      });
    } catch {
      return true;
    }
  };
  return inside('/proc/self/uid_map', uid) && inside('/proc/self/gid_map', gid);
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const DIR_CACHE = 16;

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

const parentOf = (rel: string) => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};
const baseOf = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);
const inside = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
const errCode = (e: unknown) => (e instanceof FsAtError ? e.code : (e as NodeJS.ErrnoException).code);

export class LayerWriter implements TarSink {
  private readonly dirTimes: { rel: string; mtime: number }[] = [];
  /** open directories by path relative to the root, the most recently used last */
  private readonly dirs = new Map<string, number>();
  /** The root started empty (a new layer): every directory in it is one this writer made. */
  private readonly fresh: boolean;
  /** fresh root only: directories with the set-group-ID bit, whose new entries take their group */
  private readonly sgidDirs = new Set<string>();
  /** what a new file gets without fchown/fchmod: the creator's ids, and its mode through the umask */
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  private readonly umask = process.umask();
  /** directory mounts below the root, by relative path, open for writing */
  private readonly mounts = new Map<string, { fd: number; readOnly: boolean }>();
  /** every mount point below the root, files included: none may be replaced */
  private readonly mountPoints = new Set<string>();
  private fd = -1;
  private current: { rel: string; h: TarHeader } | null = null;
  /** the content digest of the current file, when the layer is indexed */
  private hash: Hash | null = null;
  /** a small file held back until its end: linked from the stored layer, or written then */
  private held: { parent: number; base: string; chunks: Buffer[] } | null = null;
  /** the stored layer's directory last opened (a layer's files come directory by directory) */
  private likeDir: { rel: string; fd: number } | null = null;
  entries = 0;
  size = 0;

  /** rootFd: the directory to write into, open O_RDONLY|O_DIRECTORY, held by the caller. */
  constructor(private readonly rootFd: number, private readonly fs: FsAt, private readonly opts: LayerWriterOptions & LayerLinkOptions, mounts?: Map<string, WriterMount>) {
    this.fresh = fs.readdir(rootFd).length === 0;
    for (const [rel, m] of mounts ?? []) {
      this.mountPoints.add(rel);
      if (m.dir) this.mounts.set(rel, { fd: fs.openat(m.fd, '.', O.RDONLY | O.DIRECTORY), readOnly: m.readOnly });
    }
  }

  /** The mount holding rel (its longest destination), and rel's path inside it. */
  private baseFor(rel: string, entryName: string): { fd: number; rest: string } {
    let best = '';
    let held: { fd: number; readOnly: boolean } | undefined;
    for (const [m, h] of this.mounts) {
      if (inside(rel, m) && m.length >= best.length) {
        best = m;
        held = h;
      }
    }
    if (!held) return { fd: this.rootFd, rest: rel };
    if (held.readOnly) throw new LayerPathError(`entry ${JSON.stringify(entryName)} would be written to the read-only mount at ${best}`);
    return { fd: held.fd, rest: rel === best ? '' : rel.slice(best.length + 1) };
  }

  /**
   * The directory at rel, open (cached; not to be closed by the caller). With `create`,
   * missing directories on the way are made. A symlink or a non-directory anywhere on the way
   * is refused by the kernel (RESOLVE_NO_SYMLINKS) and named in the error.
   */
  private dir(rel: string, create: boolean, entryName: string): number {
    if (rel === '' && !this.mounts.size) return this.rootFd;
    const cached = this.dirs.get(rel);
    if (cached !== undefined) {
      this.dirs.delete(rel);
      this.dirs.set(rel, cached);
      return cached;
    }
    const { fd: base, rest } = this.baseFor(rel, entryName);
    if (rest === '') return base;
    const fd = this.openBeneath(base, rest, rel, create, entryName);
    this.remember(rel, fd);
    return fd;
  }

  private remember(rel: string, fd: number): void {
    this.dirs.set(rel, fd);
    if (this.dirs.size > DIR_CACHE) {
      const [oldest, ofd] = this.dirs.entries().next().value!;
      this.dirs.delete(oldest);
      this.fs.close(ofd);
    }
  }

  private openBeneath(base: number, rest: string, rel: string, create: boolean, entryName: string): number {
    try {
      return this.fs.openat2(base, rest, O.RDONLY | O.DIRECTORY, BENEATH);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw this.pathError(e, base, rest, rel, entryName);
      if (!create) throw new LayerPathError(`entry ${JSON.stringify(entryName)}: ${rel} is not in the layer`);
    }
    // Make what is missing, one directory at a time, each beneath the one before.
    const parts = rest.split('/');
    const prefix = rel.slice(0, rel.length - rest.length);
    let cur = base;
    try {
      for (let i = 0; i < parts.length; i++) {
        let next: number;
        try {
          next = this.fs.openat2(cur, parts[i], O.RDONLY | O.DIRECTORY, BENEATH);
        } catch (e) {
          if (errCode(e) !== 'ENOENT') throw this.pathError(e, base, rest, rel, entryName);
          try {
            this.fs.mkdirat(cur, parts[i], 0o755);
          } catch (e2) {
            if (errCode(e2) !== 'EEXIST') throw e2;
          }
          const made = `${prefix}${parts.slice(0, i + 1).join('/')}`;
          this.noteSgid(made, this.sgidDirs.has(parentOf(made))); // a new directory inherits it
          try {
            next = this.fs.openat2(cur, parts[i], O.RDONLY | O.DIRECTORY, BENEATH);
          } catch (e3) {
            throw this.pathError(e3, base, rest, rel, entryName);
          }
        }
        if (cur !== base) this.fs.close(cur);
        cur = next;
      }
      return cur;
    } catch (e) {
      if (cur !== base) this.fs.close(cur);
      throw e;
    }
  }

  /** Names the component that made a parent unusable: the first symlink or non-directory, found by descriptors. */
  private pathError(e: unknown, base: number, rest: string, rel: string, entryName: string): unknown {
    const code = errCode(e);
    if (code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'EXDEV') return e;
    const parts = rest.split('/');
    const prefix = rel.slice(0, rel.length - rest.length);
    let cur = base;
    try {
      for (let i = 0; i < parts.length; i++) {
        const st = this.fs.statatIfExists(cur, parts[i], AT.SYMLINK_NOFOLLOW);
        if (!st) break;
        const p = `${prefix}${parts.slice(0, i + 1).join('/')}`;
        if ((st.mode & S.IFMT) === S.IFLNK) return new LayerPathError(`entry ${JSON.stringify(entryName)} would be written through the symlink ${p}`);
        if (!isDir(st)) return new LayerPathError(`entry ${JSON.stringify(entryName)}: ${p} is not a directory`);
        const next = this.fs.openat(cur, parts[i], O.PATH | O.DIRECTORY | O.NOFOLLOW);
        if (cur !== base) this.fs.close(cur);
        cur = next;
      }
    } catch {
      /* changed again meanwhile: the general message below */
    } finally {
      if (cur !== base) this.fs.close(cur);
    }
    return new LayerPathError(`entry ${JSON.stringify(entryName)} would be written through a symlink in ${rel}`);
  }

  /** Forgets open directories inside a tree that was just removed. */
  private forget(rel: string): void {
    for (const [p, fd] of this.dirs) {
      if (!inside(p, rel)) continue;
      this.fs.close(fd);
      this.dirs.delete(p);
    }
    for (const p of this.sgidDirs) if (inside(p, rel)) this.sgidDirs.delete(p);
  }

  /** Removes whatever is at name in parent unless both it and the new entry are directories. Returns true when a directory stays. */
  private clear(parent: number, name: string, rel: string, keepDir: boolean): boolean {
    if (keepDir) {
      const st = this.fs.statatIfExists(parent, name, AT.SYMLINK_NOFOLLOW);
      if (st && isDir(st)) return true;
    }
    if (this.mountPoints.has(rel)) throw new LayerPathError(`entry ${JSON.stringify(rel)} would replace a mount point`);
    removeAt(this.fs, parent, name);
    this.forget(rel);
    return false;
  }

  /**
   * Creates an entry with make(), which must fail with EEXIST where something is there
   * (O_EXCL, mkdirat, symlinkat, linkat, mknodat all do). Nearly every path in a layer is new,
   * so it is not looked up first: only where the create fails is the old entry cleared and
   * the create run again. Returns false when a directory was kept (keepDir) instead.
   */
  private create(parent: number, name: string, rel: string, make: () => void, keepDir = false): boolean {
    // Something running in the tree (a container's process during `docker cp`) can put an entry
    // back between the clear and the create: a few tries, then a clear refusal, never a raw EEXIST.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        make();
        return true;
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
      }
      if (this.clear(parent, name, rel, keepDir)) return false;
    }
    throw new LayerPathError(`entry ${JSON.stringify(rel)} was replaced while it was written`);
  }

  private noteSgid(dir: string, sgid: boolean): void {
    if (this.fresh && sgid) this.sgidDirs.add(dir);
    else this.sgidDirs.delete(dir);
  }

  /** Whether a new entry at rel already has this owner, so chown can be skipped. */
  private ownedAsCreated(rel: string, h: TarHeader): boolean {
    return this.fresh && h.uid === this.euid && h.gid === this.egid && !this.sgidDirs.has(parentOf(rel));
  }

  entry(h: TarHeader): void {
    try {
      this.write(h);
    } catch (e) {
      // An owner outside the id map of a rootless engine (a user with too few subordinate ids).
      if (this.opts.chown && errCode(e) === 'EINVAL' && inUserNamespace() && (h.uid > 65535 || h.gid > 65535 || !mapped(h.uid, h.gid))) {
        throw new LayerPathError(`${JSON.stringify(h.name)} is owned by ${h.uid}:${h.gid}, which this rootless engine cannot map: `
          + 'give the user a subordinate id range of 65536 or more in /etc/subuid and /etc/subgid, then run `berth system reset`');
      }
      throw e;
    }
  }

  private write(h: TarHeader): void {
    this.entries++;
    const rel = cleanEntryPath(h.name);
    const base = baseOf(rel);
    const parentRel = parentOf(rel);

    if (this.opts.mode === 'overlay' && base.startsWith(WH_PREFIX)) {
      const parent = this.dir(parentRel, true, h.name);
      if (base === WH_OPAQUE) {
        this.fs.fsetxattr(parent, OPAQUE(), Buffer.from('y'));
      } else {
        const name = base.slice(WH_PREFIX.length);
        if (!name || name === '.' || name === '..') throw new LayerPathError(`invalid whiteout entry ${JSON.stringify(h.name)}`);
        this.create(parent, name, parentRel ? `${parentRel}/${name}` : name, () => this.fs.mknodat(parent, name, S.IFCHR, 0, 0));
      }
      return;
    }

    if (rel === '') {
      // The root entry ("/" or "./") only carries the root's metadata.
      if (h.type !== 'dir') throw new LayerPathError(`entry ${JSON.stringify(h.name)} would replace the layer root`);
      this.metaFd(this.rootFd, h, false);
      this.noteSgid('', (h.mode & 0o2000) !== 0);
      this.dirTimes.push({ rel: '', mtime: h.mtime });
      return;
    }

    if (this.mountPoints.has(rel)) {
      // A volume's mount point: it stays what it is, as it would inside the container.
      if (h.type !== 'dir' || !this.mounts.has(rel)) throw new LayerPathError(`entry ${JSON.stringify(h.name)} would replace a mount point`);
      return;
    }

    const parent = this.dir(parentRel, true, h.name);
    const plain = this.opts.mode === 'plain';
    switch (h.type) {
      case 'dir': {
        const made = this.create(parent, base, rel, () => this.fs.mkdirat(parent, base, 0o700), true);
        let fd: number;
        try {
          fd = this.fs.openat(parent, base, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        } catch (e) {
          if (errCode(e) !== 'ELOOP' && errCode(e) !== 'ENOTDIR') throw e;
          throw new LayerPathError(`entry ${JSON.stringify(h.name)} was replaced while it was written`);
        }
        this.remember(rel, fd);
        this.metaFd(fd, h, made && this.ownedAsCreated(rel, h));
        this.noteSgid(rel, (h.mode & 0o2000) !== 0);
        this.dirTimes.push({ rel, mtime: h.mtime });
        return;
      }
      case 'file': {
        this.size += h.size;
        const indexed = !!this.opts.index && this.opts.mode === 'overlay' && this.fresh && !this.kept(h).length;
        this.hash = indexed ? createHash('sha256') : null;
        if (indexed && h.size <= LINK_MAX && this.opts.like?.files.has(rel)) {
          this.held = { parent, base, chunks: [] };
          this.current = { rel, h };
          return;
        }
        // Created with its final permission bits where the umask lets them through (then no
        // fchmod); set-id and sticky bits always go on after the chown, which would clear them.
        this.create(parent, base, rel, () => (this.fd = this.fs.openat(parent, base, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, h.mode & 0o777)));
        this.current = { rel, h };
        return;
      }
      case 'symlink': {
        const made = this.create(parent, base, rel, () => this.fs.symlinkat(h.linkname, parent, base));
        if (this.opts.chown && !(made && this.ownedAsCreated(rel, h))) this.fs.fchownat(parent, base, h.uid, h.gid, AT.SYMLINK_NOFOLLOW);
        this.fs.utimensat(parent, base, h.mtime, h.mtime, AT.SYMLINK_NOFOLLOW);
        this.xattrsAt(parent, base, h);
        return;
      }
      case 'hardlink': {
        const target = cleanEntryPath(h.linkname);
        if (target === '') throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at the layer root`);
        if (target === rel) return;
        const tparent = this.openExisting(parentOf(target), h.name);
        try {
          const st = this.fs.statatIfExists(tparent, baseOf(target), AT.SYMLINK_NOFOLLOW);
          if (!st) throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which is not in the layer`);
          if (isDir(st)) throw new LayerPathError(`hard link ${JSON.stringify(h.name)} points at a directory`);
          this.create(parent, base, rel, () => this.fs.linkat(tparent, baseOf(target), parent, base));
        } finally {
          if (tparent !== this.rootFd && !this.isHeld(tparent)) this.fs.close(tparent);
        }
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (plain) return;
        const kind = h.type === 'char' ? S.IFCHR : h.type === 'block' ? S.IFBLK : S.IFIFO;
        const made = this.create(parent, base, rel, () => this.fs.mknodat(parent, base, kind | 0o600, h.devmajor, h.devminor));
        if (this.opts.chown && !(made && this.ownedAsCreated(rel, h))) this.fs.fchownat(parent, base, h.uid, h.gid, AT.SYMLINK_NOFOLLOW);
        this.chmodNode(parent, base, kind, h.mode);
        this.xattrsAt(parent, base, h);
        return;
      }
    }
  }

  /** A directory that must already exist (a hard link's target's), open and not cached. */
  private openExisting(rel: string, entryName: string): number {
    if (rel === '' && !this.mounts.size) return this.rootFd;
    const { fd: base, rest } = this.baseFor(rel, entryName);
    if (rest === '') return base;
    try {
      return this.fs.openat2(base, rest, O.RDONLY | O.DIRECTORY, BENEATH);
    } catch (e) {
      if (errCode(e) === 'ENOENT') throw new LayerPathError(`hard link ${JSON.stringify(entryName)}: ${rel} is not in the layer`);
      throw this.pathError(e, base, rest, rel, entryName);
    }
  }

  private isHeld(fd: number): boolean {
    for (const m of this.mounts.values()) if (m.fd === fd) return true;
    return false;
  }

  /**
   * chmod of a device node or FIFO: fchmodat would follow a symlink swapped in for it, so the
   * node is opened O_PATH without following, checked, and changed through its descriptor.
   */
  private chmodNode(parent: number, name: string, kind: number, mode: number): void {
    const fd = this.fs.openat(parent, name, O.PATH | O.NOFOLLOW);
    try {
      const st = this.fs.statat(fd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW);
      if ((st.mode & S.IFMT) !== kind) throw new LayerPathError(`${name} changed while it was written`);
      chmodSync(`/proc/self/fd/${fd}`, mode & 0o7777);
    } finally {
      this.fs.close(fd);
    }
  }

  data(chunk: Buffer): void {
    this.hash?.update(chunk);
    if (this.held) {
      this.held.chunks.push(Buffer.from(chunk)); // the parser's chunk is a view it reuses
      return;
    }
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    if (!this.current) return;
    const { rel, h } = this.current;
    const fp = this.hash ? fingerprint(this.hash.digest('hex'), h) : undefined;
    this.hash = null;
    if (fp) this.opts.index!.set(rel, fp);
    const held = this.held;
    if (held) {
      this.held = null;
      if (fp === this.opts.like!.files.get(rel) && this.linkStored(held.parent, held.base, rel, h)) {
        this.current = null;
        return;
      }
      this.create(held.parent, held.base, rel, () => (this.fd = this.fs.openat(held.parent, held.base, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, h.mode & 0o777)));
      for (const c of held.chunks) this.data(c);
    }
    try {
      if (this.opts.chown && !this.ownedAsCreated(rel, h)) fchownSync(this.fd, h.uid, h.gid);
      if ((h.mode & 0o7777) !== (h.mode & 0o777 & ~this.umask)) fchmodSync(this.fd, h.mode & 0o7777);
      futimesSync(this.fd, h.mtime, h.mtime);
      this.xattrsFd(this.fd, h);
    } finally {
      this.fs.close(this.fd);
      this.fd = -1;
      this.current = null;
    }
  }

  /**
   * Links rel from the stored layer when its file there is still the one its index names (a
   * regular file with this size, mode, owner and mtime). False when it is not, or the link
   * fails (too many links, a file system that refuses): the file is then written.
   */
  private linkStored(parent: number, base: string, rel: string, h: TarHeader): boolean {
    const like = this.opts.like!;
    const dirRel = parentOf(rel);
    try {
      if (this.likeDir?.rel !== dirRel) {
        if (this.likeDir && this.likeDir.fd !== like.fd) this.fs.close(this.likeDir.fd);
        this.likeDir = null;
        const fd = dirRel === '' ? like.fd : this.fs.openat2(like.fd, dirRel, O.RDONLY | O.DIRECTORY, BENEATH);
        this.likeDir = { rel: dirRel, fd };
      }
      const st = this.fs.statatIfExists(this.likeDir.fd, base, AT.SYMLINK_NOFOLLOW);
      if (!st || (st.mode & S.IFMT) !== S.IFREG || st.size !== h.size || (st.mode & 0o7777) !== (h.mode & 0o7777)) return false;
      if (st.uid !== h.uid || st.gid !== h.gid || Math.abs(st.mtimeMs - h.mtime * 1000) >= 1) return false;
      const from = this.likeDir.fd;
      this.create(parent, base, rel, () => this.fs.linkat(from, base, parent, base));
      return true;
    } catch (e) {
      if (e instanceof LayerPathError) throw e;
      return false;
    }
  }

  /** Owner, mode and xattrs of a directory through its descriptor; `asCreated`: its owner is already right. */
  private metaFd(fd: number, h: TarHeader, asCreated: boolean): void {
    if (this.opts.chown && !asCreated) fchownSync(fd, h.uid, h.gid);
    fchmodSync(fd, h.mode & 0o7777);
    this.xattrsFd(fd, h);
  }

  private kept(h: TarHeader): [string, Buffer][] {
    if (this.opts.mode === 'plain') return [];
    // Overlay's own attributes (redirect, metacopy, opaque) would let an image steer the
    // overlay mount outside its layers: never taken from an archive, in either namespace
    // (a userxattr mount reads user.overlay.*, which anyone may set).
    return Object.entries(h.xattrs).filter(([name]) => !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.'));
  }

  private xattrsFd(fd: number, h: TarHeader): void {
    for (const [name, value] of this.kept(h)) this.fs.fsetxattr(fd, name, value);
  }

  private xattrsAt(parent: number, base: string, h: TarHeader): void {
    for (const [name, value] of this.kept(h)) this.fs.lsetxattrat(parent, base, name, value);
  }

  /** Directory times last, once nothing more is written inside them. */
  finish(): void {
    if (this.fd >= 0) this.fs.close(this.fd);
    this.fd = -1;
    try {
      for (let i = this.dirTimes.length - 1; i >= 0; i--) {
        const { rel, mtime } = this.dirTimes[i];
        if (rel === '') {
          futimesSync(this.rootFd, mtime, mtime);
          continue;
        }
        let parent: number;
        try {
          parent = this.dir(parentOf(rel), false, rel);
        } catch {
          continue; // removed by a later entry
        }
        try {
          this.fs.utimensat(parent, baseOf(rel), mtime, mtime, AT.SYMLINK_NOFOLLOW);
        } catch (e) {
          if (errCode(e) !== 'ENOENT') throw e;
        }
      }
    } finally {
      this.release();
    }
  }

  abort(): void {
    if (this.fd >= 0) this.fs.close(this.fd);
    this.fd = -1;
    this.release();
  }

  private release(): void {
    if (this.likeDir && this.likeDir.fd !== this.opts.like?.fd) this.fs.close(this.likeDir.fd);
    this.likeDir = null;
    for (const fd of this.dirs.values()) this.fs.close(fd);
    this.dirs.clear();
    for (const m of this.mounts.values()) this.fs.close(m.fd);
    this.mounts.clear();
  }
}
