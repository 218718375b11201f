// Walking, archiving, measuring and deleting trees that someone else controls, one entry at a
// time beneath directory descriptors. An entry is opened without following it and then
// described by what the open descriptor says (fstat), so a name swapped for a symlink between
// the listing and the open is either refused by the kernel or read as the symlink it now is.
import { readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { TAR_END, tarHeader, tarPadding, type TarEntry } from '../images/tarWriter.ts';
import { AT, DT, FsAtError, O, S, isDir, type FsAt, type StatAt } from '../sys/fsat.ts';
import type { FsView, ViewEntry } from './fsView.ts';

/** Where an entry is: a name inside an open directory, or (name '') a descriptor of the entry itself. */
interface At {
  dirfd: number;
  name: string;
}

const gone = (e: unknown) => e instanceof FsAtError && (e.code === 'ENOENT' || e.code === 'ENOTDIR');

interface Opened {
  /** open for reading: a directory or a regular file; -1 for anything else */
  fd: number;
  st: StatAt;
  /** a symlink's target */
  link?: string;
}

/**
 * Opens an entry to read if it is a file or a directory, or describes it where it is. It is
 * opened O_PATH first and checked: a FIFO or a device node swapped in for a file is never
 * opened (an open alone can block, or arm a device such as a watchdog). Undefined when the
 * entry vanished meanwhile.
 */
function openEntry(fs: FsAt, at: At, hint: number): Opened | undefined {
  let pathFd = -1;
  try {
    if (hint === DT.DIR && at.name !== '') {
      // O_DIRECTORY cannot open anything but a directory, and O_NOFOLLOW no symlink.
      try {
        const fd = fs.openat(at.dirfd, at.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        return { fd, st: fs.statat(fd, '', AT.EMPTY_PATH) };
      } catch (e) {
        const code = (e as FsAtError).code;
        if (code === 'ENOENT') return undefined;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e; // not a directory now: look at what it is
      }
    }
    pathFd = at.name === '' ? at.dirfd : fs.openat(at.dirfd, at.name, O.PATH | O.NOFOLLOW);
    const st = fs.statat(pathFd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW);
    const kind = st.mode & S.IFMT;
    if (kind === S.IFDIR) return { fd: fs.openat(pathFd, '.', O.RDONLY | O.DIRECTORY), st };
    if (kind === S.IFREG) return { fd: fs.reopen(pathFd, O.RDONLY | O.NONBLOCK), st };
    if (kind === S.IFLNK) return { fd: -1, st, link: fs.readlinkat(pathFd, '') };
    return { fd: -1, st };
  } catch (e) {
    if (gone(e)) return undefined;
    throw e;
  } finally {
    if (pathFd >= 0 && pathFd !== at.dirfd) fs.close(pathFd);
  }
}

/**
 * Streams an entry of a view as tar, entry names under `prefix` (a directory's own entry
 * is left out when the prefix is ''). Inside the tree, paths where the view has a mount show
 * the mount's files, as they do inside the container.
 */
export function tarFromView(fs: FsAt, view: FsView | null, entry: ViewEntry, prefix: string): Readable {
  return Readable.from(tarChunks(fs, view, entry, prefix), { objectMode: false });
}

/**
 * How an overlay upper directory becomes an image layer: whiteouts (char 0:0) are written as
 * `.wh.<name>` files, opaque directories get a `.wh..wh..opq` entry, and paths the engine
 * itself put there (mount targets) are left out.
 */
export interface LayerDiffOptions {
  /** the xattr overlay marks opaque directories with (trusted.overlay.opaque, or user.* with userxattr) */
  opaqueXattr: string;
  /** paths ('/etc/hosts') to leave out, with what they hold */
  skip: (path: string, st: StatAt) => boolean;
  /** told each entry written (whiteouts included) and its data size */
  onEntry?: (name: string, size: number) => void;
}

export interface TarChunkOptions {
  /** as an image layer diff */
  layer?: LayerDiffOptions;
  /** every entry owned by these ids (COPY --chown, or 0:0) */
  owner?: { uid: number; gid: number };
  /** every entry's permission bits (COPY --chmod) */
  chmod?: number;
  /** every entry's mtime (0 to hash a tree by content) */
  mtime?: number;
  /** no mtime later than this (SOURCE_DATE_EPOCH, for reproducible layers) */
  clampMtime?: number;
  /** leave out the two zero blocks that end an archive (to append another tree) */
  noEnd?: boolean;
  /** entries (by tar name) left out, with what is under them */
  exclude?: (name: string) => boolean;
}

/** tarFromView as a synchronous generator of tar bytes. */
export function* tarChunks(fs: FsAt, view: FsView | null, entry: ViewEntry, prefix: string, opts: TarChunkOptions = {}): Generator<Buffer> {
  const layer = opts.layer;
  const inodes = new Map<string, string>();
  const chunk = Buffer.allocUnsafe(1 << 16);

  function* node(at: At, hint: number, name: string, path: string): Generator<Buffer> {
    if (name && opts.exclude?.(name)) return;
    const mount = view && at.name !== '' ? view.mountAt(path) : undefined;
    if (mount) at = { dirfd: mount.fd, name: '' };
    const opened = openEntry(fs, at, hint);
    if (!opened) return;
    const { fd, st } = opened;
    try {
      const base: Omit<TarEntry, 'type'> = {
        name, mode: opts.chmod ?? st.mode & 0o7777, uid: opts.owner?.uid ?? st.uid, gid: opts.owner?.gid ?? st.gid, mtime: opts.mtime ?? Math.min(st.mtimeMs / 1000, opts.clampMtime ?? Infinity),
      };
      const kind = st.mode & S.IFMT;
      if (layer && name && layer.skip(path, st)) return;
      if (layer && kind === S.IFCHR && st.rdevMajor === 0 && st.rdevMinor === 0) {
        const cut = name.lastIndexOf('/') + 1;
        yield tarHeader({ ...base, name: `${name.slice(0, cut)}.wh.${name.slice(cut)}`, mode: 0o600, type: 'file', size: 0 });
        layer.onEntry?.(`${name.slice(0, cut)}.wh.${name.slice(cut)}`, 0);
        return;
      }
      if (layer && name) layer.onEntry?.(kind === S.IFDIR ? `${name}/` : name, kind === S.IFREG ? st.size : 0);
      const key = `${st.dev}:${st.ino}`;
      if (kind !== S.IFDIR && st.nlink > 1) {
        const first = inodes.get(key);
        if (first !== undefined) {
          yield tarHeader({ ...base, type: 'hardlink', linkname: first });
          return;
        }
        inodes.set(key, name);
      }
      if (kind === S.IFDIR) {
        if (name) yield tarHeader({ ...base, name: `${name}/`, type: 'dir' });
        if (layer && name && fs.fgetxattr(fd, layer.opaqueXattr)?.toString() === 'y') {
          yield tarHeader({ ...base, name: `${name}/.wh..wh..opq`, mode: 0o600, type: 'file', size: 0 });
        }
        const children = fs.readdir(fd);
        for (const m of view?.mountNamesIn(path) ?? []) if (!children.some((c) => c.name === m)) children.push({ name: m, type: DT.UNKNOWN });
        children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const c of children) yield* node({ dirfd: fd, name: c.name }, c.type, name ? `${name}/${c.name}` : c.name, path === '/' ? `/${c.name}` : `${path}/${c.name}`);
      } else if (kind === S.IFREG) {
        yield tarHeader({ ...base, type: 'file', size: st.size });
        let left = st.size;
        while (left > 0) {
          const n = readSync(fd, chunk, 0, Math.min(chunk.length, left), null);
          if (n <= 0) break;
          left -= n;
          yield Buffer.from(chunk.subarray(0, n));
        }
        // A file that shrank while being read is padded to the size its header promised.
        if (left > 0) yield Buffer.alloc(left);
        yield tarPadding(st.size);
      } else if (kind === S.IFLNK) {
        yield tarHeader({ ...base, type: 'symlink', linkname: opened.link });
      } else if (kind === S.IFCHR || kind === S.IFBLK) {
        yield tarHeader({ ...base, type: kind === S.IFCHR ? 'char' : 'block', devmajor: st.rdevMajor, devminor: st.rdevMinor });
      } else if (kind === S.IFIFO) {
        yield tarHeader({ ...base, type: 'fifo' });
      }
    } finally {
      if (fd >= 0) fs.close(fd);
    }
  }

  yield* node({ dirfd: entry.fd, name: '' }, DT.UNKNOWN, prefix, entry.path);
  if (!opts.noEnd) yield TAR_END;
}

/**
 * Deletes `name` inside `dirfd`, a whole directory tree included, by descriptors: nothing
 * outside the directory held open can be reached, whatever is renamed or swapped meanwhile.
 */
export function removeAt(fs: FsAt, dirfd: number, name: string): void {
  for (let tries = 0; ; tries++) {
    try {
      fs.unlinkat(dirfd, name, 0);
      return;
    } catch (e) {
      if (gone(e)) return;
      const code = (e as FsAtError).code;
      if (code !== 'EISDIR' && code !== 'EPERM') throw e;
    }
    let fd: number;
    try {
      fd = fs.openat(dirfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
    } catch (e) {
      if (gone(e)) return;
      if ((e as FsAtError).code === 'ELOOP' && tries < 8) continue; // became a symlink: unlink that
      throw e;
    }
    try {
      for (const c of fs.readdir(fd)) removeAt(fs, fd, c.name);
    } finally {
      fs.close(fd);
    }
    try {
      fs.unlinkat(dirfd, name, AT.REMOVEDIR);
      return;
    } catch (e) {
      if (gone(e)) return;
      // Something was added meanwhile: empty it again.
      if ((e as FsAtError).code !== 'ENOTEMPTY' || tries >= 8) throw e;
    }
  }
}

/** Bytes of regular files in a tree (`docker system df -v`), never following a symlink out of it. */
export function treeSize(fs: FsAt, dirfd: number): number {
  let total = 0;
  for (const c of fs.readdir(dirfd)) {
    try {
      if (c.type === DT.DIR || c.type === DT.UNKNOWN) {
        const st = fs.statat(dirfd, c.name, AT.SYMLINK_NOFOLLOW);
        if (!isDir(st)) {
          if ((st.mode & S.IFMT) === S.IFREG) total += st.size;
          continue;
        }
        const fd = fs.openat(dirfd, c.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        try {
          total += treeSize(fs, fd);
        } finally {
          fs.close(fd);
        }
      } else if (c.type === DT.REG) {
        total += fs.statat(dirfd, c.name, AT.SYMLINK_NOFOLLOW).size;
      }
    } catch (e) {
      if (!gone(e) && (e as FsAtError).code !== 'ELOOP') throw e;
    }
  }
  return total;
}
