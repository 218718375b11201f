// A file tree as a container (or a volume's user) sees it: a root directory plus the mounts on
// it, all held open as descriptors. A path is resolved inside the view by the kernel or one
// entry at a time from descriptors, never as a host path string: `..` stops at the root,
// absolute symlinks restart at the root, magic links are refused, and a directory swapped for a
// symlink halfway through cannot lead anywhere else. What a lookup returns is an open
// descriptor of the entry itself, so what was checked is what gets used.
import { readSync } from 'node:fs';
import { constants } from 'node:os';
import { conflict, EngineError, invalid, notFound } from '../errors.ts';
import { AT, FsAtError, O, RESOLVE, isDir, isFile, isSymlink, type FsAt, type StatAt } from '../sys/fsat.ts';

/** A mount in the view: its files are at `source` on the host. */
export interface ViewMount {
  /** where it is mounted, an absolute path in the view */
  destination: string;
  source: string;
  readOnly: boolean;
}

interface HeldMount {
  destination: string;
  /** O_PATH descriptor of the mount's root (a directory, or a file for a file bind) */
  fd: number;
  dir: boolean;
  readOnly: boolean;
}

/** An entry found in a view; its descriptor (O_PATH, not following a final symlink) is the caller's to close. */
export interface ViewEntry {
  fd: number;
  /**
   * the clean absolute path in the view the entry was reached at; symlinks on the way are
   * resolved when the view has mounts, or when asked (`resolvedPath`)
   */
  path: string;
  stat: StatAt;
  /** what makes it read-only: the mount it lies on, or the root (false: writable) */
  readOnly: false | 'mount' | 'root';
}

/** `..` components resolved lexically, as `docker cp` cleans a path before it looks it up. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

const MAX_SYMLINKS = 40;
/** how often a walk takes a step again because its entry changed under it */
const MAX_RETRIES = 1000;
const { errno } = constants;

export class FsView {
  private readonly mounts = new Map<string, HeldMount>();
  private closed = false;

  private constructor(
    private readonly fs: FsAt,
    /** O_PATH descriptor of the root directory */
    readonly rootFd: number,
    /** how errors name the tree: "container 0a1b2c3d4e5f", "volume data" */
    readonly what: string,
    private readonly readOnlyRoot: boolean,
  ) {}

  /** Opens the root and every mount source (host paths the engine or its user chose, not the tree's content). */
  static open(fs: FsAt, root: string, what: string, opts: { mounts?: ViewMount[]; readOnlyRoot?: boolean } = {}): FsView {
    const view = new FsView(fs, fs.openat(AT.FDCWD, root, O.PATH | O.DIRECTORY), what, !!opts.readOnlyRoot);
    try {
      for (const m of opts.mounts ?? []) {
        const destination = cleanPath(m.destination);
        let fd: number;
        try {
          fd = fs.openat(AT.FDCWD, m.source, O.PATH);
        } catch (e) {
          if ((e as FsAtError).code === 'ENOENT') continue; // a bind source removed since: Docker's view has no mount there either
          throw e;
        }
        const earlier = view.mounts.get(destination);
        if (earlier) fs.close(earlier.fd);
        view.mounts.set(destination, { destination, fd, dir: isDir(fs.statat(fd, '', AT.EMPTY_PATH)), readOnly: m.readOnly });
      }
    } catch (e) {
      view.close();
      throw e;
    }
    return view;
  }

  get hasMounts(): boolean {
    return this.mounts.size > 0;
  }

  /** The mount whose root is exactly at this clean path. */
  mountAt(path: string): HeldMount | undefined {
    return this.mounts.size ? this.mounts.get(path) : undefined;
  }

  /** Names of the mounts directly inside a directory (their mount points may not exist in the root). */
  mountNamesIn(path: string): string[] {
    if (!this.mounts.size) return [];
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.mounts.keys()].filter((d) => d.startsWith(prefix) && !d.slice(prefix.length).includes('/')).map((d) => d.slice(prefix.length));
  }

  /** Mounts strictly below a path, keyed by their path relative to it. */
  mountsBelow(path: string): Map<string, HeldMount> {
    const out = new Map<string, HeldMount>();
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const m of this.mounts.values()) if (m.destination.startsWith(prefix) && m.destination !== path) out.set(m.destination.slice(prefix.length), m);
    return out;
  }

  /** Whether a clean path lies on a read-only mount (the innermost mount holding it), or on a read-only root. */
  readOnlyAt(path: string): false | 'mount' | 'root' {
    let best: HeldMount | undefined;
    for (const m of this.mounts.values()) {
      const inside = path === m.destination || path.startsWith(`${m.destination}/`);
      if (inside && (!best || m.destination.length > best.destination.length)) best = m;
    }
    if (best) return best.readOnly && 'mount';
    return this.readOnlyRoot && 'root';
  }

  /**
   * Finds a path in the view. `followLast` false keeps a final symlink itself (docker cp's
   * source, unless the path ends in `/` or `/.`). Missing paths are NOT_FOUND; a path the
   * kernel refuses to resolve (a magic link, a symlink loop) is INVALID_ARGUMENT.
   */
  lookup(path: string, followLast: boolean, opts: { resolvedPath?: boolean } = {}): ViewEntry {
    const clean = cleanPath(path);
    try {
      const fd = this.mounts.size || opts.resolvedPath ? this.walk(clean, followLast) : this.kernelResolve(clean, followLast);
      const entry: ViewEntry = { fd: fd.fd, path: fd.path, stat: this.fs.statat(fd.fd, '', AT.EMPTY_PATH | AT.SYMLINK_NOFOLLOW), readOnly: false };
      entry.readOnly = this.readOnlyAt(entry.path);
      return entry;
    } catch (e) {
      throw this.explain(e, path);
    }
  }

  /** An errno from resolving `path` as the engine's error, naming the path and the tree. */
  explain(e: unknown, path: string): unknown {
    if (!(e instanceof FsAtError)) return e;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return notFound(`Could not find the file ${path} in ${this.what}`);
    if (e.code === 'EAGAIN') return conflict(`${path} in ${this.what} kept changing while it was looked up: try again`);
    if (e.code === 'ELOOP' || e.code === 'EXDEV') {
      return invalid(`path ${path} escapes ${this.what}: it leads through a magic link or more than ${MAX_SYMLINKS} symbolic links (${e.code})`);
    }
    return new EngineError('INTERNAL', `${path} in ${this.what}: ${e.message}`, { errno: e.errno });
  }

  /** No mounts to map: the kernel resolves the whole path confined to the root. */
  private kernelResolve(clean: string, followLast: boolean): { fd: number; path: string } {
    const how = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;
    if (followLast || clean === '/') return { fd: this.fs.openat2(this.rootFd, clean === '/' ? '.' : clean.slice(1), O.PATH, how), path: clean };
    const cut = clean.lastIndexOf('/');
    const parent = this.fs.openat2(this.rootFd, cut === 0 ? '.' : clean.slice(1, cut), O.PATH | O.DIRECTORY, how);
    try {
      return { fd: this.fs.openat2(parent, clean.slice(cut + 1), O.PATH | O.NOFOLLOW, RESOLVE.BENEATH | RESOLVE.NO_MAGICLINKS), path: clean };
    } finally {
      this.fs.close(parent);
    }
  }

  /**
   * Mounts to map (a stopped container's volumes are not mounted anywhere): one entry at a
   * time from held descriptors, switching to a mount's root where the path reaches its
   * destination. The path it returns is where the entry is, symlinks resolved.
   */
  private walk(clean: string, followLast: boolean): { fd: number; path: string } {
    const stack: { fd: number; name: string }[] = [];
    const top = () => stack.at(-1)?.fd ?? this.rootFd;
    const here = () => `/${stack.map((s) => s.name).join('/')}`;
    const parts = clean.split('/').filter(Boolean);
    let hops = 0;
    let retries = 0;
    // A step whose entry changed between its stat and its use (a directory swapped for a
    // symlink, or back) is taken again from the directory it started in.
    const again = (part: string, path: string) => {
      if (++retries > MAX_RETRIES) throw new FsAtError(errno.EAGAIN, 'walk', path);
      parts.unshift(part);
    };
    try {
      while (parts.length) {
        const part = parts.shift()!;
        if (part === '.' || part === '') continue;
        if (part === '..') {
          const s = stack.pop();
          if (s) this.fs.close(s.fd);
          continue;
        }
        const path = here() === '/' ? `/${part}` : `${here()}/${part}`;
        const mount = this.mounts.get(path);
        if (mount) {
          stack.push({ fd: this.fs.dup(mount.fd), name: part });
          continue;
        }
        const st = this.fs.statat(top(), part, AT.SYMLINK_NOFOLLOW);
        if (isSymlink(st) && (parts.length || followLast)) {
          let target: string;
          try {
            this.refuseMagicLink(top(), part);
            target = this.fs.readlinkat(top(), part);
          } catch (e) {
            if ((e as FsAtError).code !== 'EINVAL') throw e;
            again(part, path); // not a symlink any more
            continue;
          }
          if (++hops > MAX_SYMLINKS) throw new FsAtError(errno.ELOOP, 'walk', path);
          if (target.startsWith('/')) for (const s of stack.splice(0)) this.fs.close(s.fd);
          parts.unshift(...target.split('/'));
          continue;
        }
        if (parts.length && !isDir(st)) throw new FsAtError(errno.ENOTDIR, 'walk', path);
        // One name beneath a held directory, never through a symlink: if the entry was swapped
        // for a symlink since the stat, this fails (ELOOP) instead of following it.
        const flags = parts.length ? O.PATH | O.DIRECTORY : O.PATH | O.NOFOLLOW;
        let fd: number;
        try {
          fd = this.fs.openat2(top(), part, flags, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS);
        } catch (e) {
          const code = (e as FsAtError).code;
          if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
          again(part, path);
          continue;
        }
        stack.push({ fd, name: part });
      }
      const path = here();
      return { fd: stack.pop()?.fd ?? this.fs.dup(this.rootFd), path };
    } finally {
      for (const s of stack) this.fs.close(s.fd);
    }
  }

  /**
   * A regular file's text (symlinks followed inside the view), at most maxBytes of it; undefined
   * where there is none. A FIFO or device at the path is never opened.
   */
  readFile(path: string, maxBytes: number): string | undefined {
    let entry: ViewEntry;
    try {
      entry = this.lookup(path, true);
    } catch {
      return undefined;
    }
    try {
      if (!isFile(entry.stat)) return undefined;
      const fd = this.fs.reopen(entry.fd, O.RDONLY | O.NONBLOCK);
      try {
        const buf = Buffer.alloc(Math.min(entry.stat.size, maxBytes));
        const n = readSync(fd, buf, 0, buf.length, 0);
        return buf.toString('utf8', 0, n);
      } finally {
        this.fs.close(fd);
      }
    } finally {
      this.fs.close(entry.fd);
    }
  }

  /**
   * Makes an empty file at path unless something is there, in a directory of the view that
   * must exist (symlinks on the way followed inside the view). Returns false where it could not.
   */
  ensureFile(path: string): boolean {
    const clean = cleanPath(path);
    const cut = clean.lastIndexOf('/');
    let dir: ViewEntry;
    try {
      dir = this.lookup(clean.slice(0, cut) || '/', true);
    } catch {
      return false;
    }
    try {
      if (!isDir(dir.stat)) return false;
      this.fs.close(this.fs.openat(dir.fd, clean.slice(cut + 1), O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o644));
      return true;
    } catch {
      return false;
    } finally {
      this.fs.close(dir.fd);
    }
  }

  /** Makes a directory at path unless something is there; its parent must exist. */
  ensureDir(path: string, mode: number): void {
    const clean = cleanPath(path);
    const cut = clean.lastIndexOf('/');
    const dir = this.lookup(clean.slice(0, cut) || '/', true);
    try {
      this.fs.mkdirat(dir.fd, clean.slice(cut + 1), mode);
    } catch (e) {
      if ((e as FsAtError).code !== 'EEXIST') throw this.explain(e, path);
    } finally {
      this.fs.close(dir.fd);
    }
  }

  /**
   * A magic link (procfs's /proc/<pid>/root, /proc/self/fd/N) has a text that looks harmless
   * ("/") but the kernel jumps to another object when it follows one; the walk reads symlink
   * texts itself, so it asks the kernel which kind this is. ELOOP under RESOLVE_NO_MAGICLINKS
   * names one; the same is refused when the kernel resolves a whole path. EACCES is procfs
   * refusing to even show another process's magic link: refused all the same.
   */
  private refuseMagicLink(dirfd: number, name: string): void {
    let fd: number;
    try {
      fd = this.fs.openat2(dirfd, name, O.PATH, RESOLVE.BENEATH | RESOLVE.NO_MAGICLINKS);
    } catch (e) {
      const code = (e as FsAtError).code;
      if (code === 'ELOOP' || code === 'EACCES') throw new FsAtError(errno.ELOOP, 'walk', name);
      return; // leads out of the directory, or nowhere: read as text, inside the view
    }
    this.fs.close(fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.mounts.values()) this.fs.close(m.fd);
    this.fs.close(this.rootFd);
  }
}
