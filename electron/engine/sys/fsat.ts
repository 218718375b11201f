// File operations relative to directory descriptors (the *at family and openat2), for trees a
// container, an image or a volume controls. Node's fs takes only path strings, and a path
// string that was checked can be swapped for a symlink before it is used; every call here
// names one entry inside a directory the caller holds open, or lets the kernel confine a
// whole path (openat2 RESOLVE_IN_ROOT / RESOLVE_BENEATH). Errors carry Node's `code` and `errno`.
import { constants as fsConstants } from 'node:fs';
import { constants as os } from 'node:os';
import koffi from 'koffi';

/** Open flags; O_DIRECTORY and O_NOFOLLOW differ by architecture (arm64: 0o40000, 0o100000), Node knows this one's. */
export const O = {
  RDONLY: 0, WRONLY: 0o1, CREAT: 0o100, EXCL: 0o200, NONBLOCK: 0o4000, DIRECTORY: fsConstants.O_DIRECTORY, NOFOLLOW: fsConstants.O_NOFOLLOW,
  CLOEXEC: 0o2000000, PATH: 0o10000000,
} as const;

export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;

export const AT = { FDCWD: -100, SYMLINK_NOFOLLOW: 0x100, REMOVEDIR: 0x200, EMPTY_PATH: 0x1000 } as const;

export const S = { IFMT: 0o170000, IFDIR: 0o040000, IFREG: 0o100000, IFLNK: 0o120000, IFCHR: 0o020000, IFBLK: 0o060000, IFIFO: 0o010000, IFSOCK: 0o140000 } as const;

export interface StatAt {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: bigint;
  /** the device as `major:minor`, for hard-link identity */
  dev: string;
  rdevMajor: number;
  rdevMinor: number;
  mtimeMs: number;
}

export const isDir = (st: StatAt) => (st.mode & S.IFMT) === S.IFDIR;
export const isFile = (st: StatAt) => (st.mode & S.IFMT) === S.IFREG;
export const isSymlink = (st: StatAt) => (st.mode & S.IFMT) === S.IFLNK;

/** d_type of getdents64 */
export const DT = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;

export interface DirEntry {
  name: string;
  type: number;
}

export interface FsAt {
  /** openat2: the kernel resolves `path` under `dirfd` with the RESOLVE flags; EAGAIN (a rename raced a `..`) is retried. */
  openat2(dirfd: number, path: string, flags: number, resolve: number, mode?: number): number;
  openat(dirfd: number, name: string, flags: number, mode?: number): number;
  close(fd: number): void;
  dup(fd: number): number;
  /**
   * Opens the inode an O_PATH descriptor holds, for reading or writing (through its
   * /proc/self/fd entry, which names exactly that inode): check what a descriptor is first,
   * then open it, with nothing in between that a rename could change.
   */
  reopen(fd: number, flags: number): number;
  /** statx; AT.SYMLINK_NOFOLLOW for lstat semantics, AT.EMPTY_PATH with '' for the descriptor itself */
  statat(dirfd: number, name: string, flags: number): StatAt;
  /** statat that answers undefined for ENOENT (no exception on the common miss) */
  statatIfExists(dirfd: number, name: string, flags: number): StatAt | undefined;
  /** Every entry of an open directory except `.` and `..`, in the order the file system keeps them. */
  readdir(fd: number): DirEntry[];
  readlinkat(dirfd: number, name: string): string;
  mkdirat(dirfd: number, name: string, mode: number): void;
  unlinkat(dirfd: number, name: string, flags: number): void;
  symlinkat(target: string, dirfd: number, name: string): void;
  /** linkat without AT_SYMLINK_FOLLOW: links the entry itself, never what a symlink names */
  linkat(olddirfd: number, oldname: string, newdirfd: number, newname: string): void;
  mknodat(dirfd: number, name: string, mode: number, major: number, minor: number): void;
  /** fchownat; with AT.SYMLINK_NOFOLLOW it never follows the entry */
  fchownat(dirfd: number, name: string, uid: number, gid: number, flags: number): void;
  /** utimensat (seconds, fractions allowed) */
  utimensat(dirfd: number, name: string, atime: number, mtime: number, flags: number): void;
  fsetxattr(fd: number, name: string, value: Buffer): void;
  /** an attribute of an open file, or undefined when it has none (ENODATA) or the file system keeps none */
  fgetxattr(fd: number, name: string): Buffer | undefined;
  /** setxattr on the entry `name` of dirfd, never following it (through /proc/self/fd, which names exactly dirfd) */
  lsetxattrat(dirfd: number, name: string, attr: string, value: Buffer): void;
}

const errnoNames = new Map<number, string>(Object.entries(os.errno).map(([k, v]) => [v, k]));

export class FsAtError extends Error {
  readonly code: string;
  constructor(readonly errno: number, readonly syscall: string, what: string) {
    const code = errnoNames.get(errno) ?? `E${errno}`;
    super(`${syscall} ${what}: ${code}`);
    this.code = code;
  }
}

export const ENOENT = os.errno.ENOENT;
export const EEXIST = os.errno.EEXIST;
const EAGAIN = os.errno.EAGAIN;
const EINTR = os.errno.EINTR;

/** Linux syscall numbers; openat2 has no libc wrapper. New syscalls share numbers across architectures. */
const SYS_OPENAT2 = 437;

let loaded: FsAt | undefined;

/** The koffi bindings, loaded once per thread (workers load their own). */
export function loadFsAt(): FsAt {
  if (loaded) return loaded;
  const lib = koffi.load('libc.so.6');
  const syscall4 = lib.func('long syscall(long nr, int dirfd, const char *path, void *how, size_t size)');
  const openat = lib.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)');
  const close = lib.func('int close(int fd)');
  const dup = lib.func('int fcntl(int fd, int cmd, int arg)');
  const statx = lib.func('int statx(int dirfd, const char *path, int flags, uint32_t mask, _Inout_ uint8_t *buf)');
  const getdents64 = lib.func('intptr_t getdents64(int fd, _Inout_ uint8_t *buf, size_t count)');
  const readlinkat = lib.func('intptr_t readlinkat(int dirfd, const char *path, _Inout_ uint8_t *buf, size_t size)');
  const mkdirat = lib.func('int mkdirat(int dirfd, const char *path, uint32_t mode)');
  const unlinkat = lib.func('int unlinkat(int dirfd, const char *path, int flags)');
  const symlinkat = lib.func('int symlinkat(const char *target, int dirfd, const char *path)');
  const linkat = lib.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
  const mknodat = lib.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)');
  const fchownat = lib.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)');
  const utimensat = lib.func('int utimensat(int dirfd, const char *path, int64_t *times, int flags)');
  const fsetxattr = lib.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)');
  const lsetxattr = lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
  const fgetxattr = lib.func('intptr_t fgetxattr(int fd, const char *name, _Inout_ uint8_t *value, size_t size)');

  const fail = (syscall: string, what: string): never => {
    throw new FsAtError(koffi.errno(), syscall, what);
  };
  const how = Buffer.alloc(24);
  const stx = Buffer.alloc(256);
  const dents = Buffer.allocUnsafe(64 * 1024);
  const link = Buffer.allocUnsafe(4097);
  const xattrBuf = Buffer.allocUnsafe(64 * 1024);
  const times = new BigInt64Array(4);
  const STATX_BASIC = 0x7ff;
  let procFds: number | undefined;

  const stat = (dirfd: number, name: string, flags: number): StatAt | number => {
    if (statx(dirfd, name, flags, STATX_BASIC, stx) !== 0) return koffi.errno();
    return {
      nlink: stx.readUInt32LE(16), uid: stx.readUInt32LE(20), gid: stx.readUInt32LE(24), mode: stx.readUInt16LE(28),
      ino: stx.readBigUInt64LE(32), size: Number(stx.readBigUInt64LE(40)),
      mtimeMs: Number(stx.readBigInt64LE(112)) * 1000 + stx.readUInt32LE(120) / 1e6,
      rdevMajor: stx.readUInt32LE(128), rdevMinor: stx.readUInt32LE(132), dev: `${stx.readUInt32LE(136)}:${stx.readUInt32LE(140)}`,
    };
  };

  loaded = {
    openat2(dirfd, path, flags, resolve, mode = 0) {
      how.writeBigUInt64LE(BigInt(flags | O.CLOEXEC), 0);
      how.writeBigUInt64LE(BigInt(mode), 8);
      how.writeBigUInt64LE(BigInt(resolve), 16);
      for (let tries = 0; ; tries++) {
        const fd = Number(syscall4(SYS_OPENAT2, dirfd, path, how, 24));
        if (fd >= 0) return fd;
        const errno = koffi.errno();
        if ((errno === EAGAIN || errno === EINTR) && tries < 64) continue;
        throw new FsAtError(errno, 'openat2', path);
      }
    },
    reopen(fd, flags) {
      if (procFds === undefined || procFds < 0) procFds = Number(openat(AT.FDCWD, '/proc/self/fd', O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0));
      if (procFds < 0) fail('openat', '/proc/self/fd');
      const n = openat(procFds, String(fd), flags | O.CLOEXEC, 0);
      return n >= 0 ? n : fail('reopen', `descriptor ${fd}`);
    },
    openat(dirfd, name, flags, mode = 0) {
      const fd = openat(dirfd, name, flags | O.CLOEXEC, mode);
      return fd >= 0 ? fd : fail('openat', name);
    },
    close(fd) {
      close(fd);
    },
    dup(fd) {
      const F_DUPFD_CLOEXEC = 1030;
      const n = dup(fd, F_DUPFD_CLOEXEC, 0);
      return n >= 0 ? n : fail('fcntl', `dup of descriptor ${fd}`);
    },
    statat(dirfd, name, flags) {
      const r = stat(dirfd, name, flags);
      if (typeof r === 'number') throw new FsAtError(r, 'statx', name);
      return r;
    },
    statatIfExists(dirfd, name, flags) {
      const r = stat(dirfd, name, flags);
      if (r === ENOENT) return undefined;
      if (typeof r === 'number') throw new FsAtError(r, 'statx', name);
      return r;
    },
    readdir(fd) {
      const out: DirEntry[] = [];
      for (;;) {
        const n = Number(getdents64(fd, dents, dents.length));
        if (n < 0) fail('getdents64', `descriptor ${fd}`);
        if (n === 0) return out;
        // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
        for (let off = 0; off < n;) {
          const reclen = dents.readUInt16LE(off + 16);
          const type = dents[off + 18];
          const end = dents.indexOf(0, off + 19);
          const name = dents.toString('utf8', off + 19, end);
          if (name !== '.' && name !== '..') out.push({ name, type });
          off += reclen;
        }
      }
    },
    readlinkat(dirfd, name) {
      const n = Number(readlinkat(dirfd, name, link, link.length));
      if (n < 0) fail('readlinkat', name);
      return link.toString('utf8', 0, n);
    },
    mkdirat(dirfd, name, mode) {
      if (mkdirat(dirfd, name, mode) !== 0) fail('mkdirat', name);
    },
    unlinkat(dirfd, name, flags) {
      if (unlinkat(dirfd, name, flags) !== 0) fail('unlinkat', name);
    },
    symlinkat(target, dirfd, name) {
      if (symlinkat(target, dirfd, name) !== 0) fail('symlinkat', name);
    },
    linkat(olddirfd, oldname, newdirfd, newname) {
      if (linkat(olddirfd, oldname, newdirfd, newname, 0) !== 0) fail('linkat', newname);
    },
    mknodat(dirfd, name, mode, major, minor) {
      if (mknodat(dirfd, name, mode, makedev(major, minor)) !== 0) fail('mknodat', name);
    },
    fchownat(dirfd, name, uid, gid, flags) {
      if (fchownat(dirfd, name, uid, gid, flags) !== 0) fail('fchownat', name);
    },
    utimensat(dirfd, name, atime, mtime, flags) {
      const sec = (t: number) => BigInt(Math.floor(t));
      const nsec = (t: number) => BigInt(Math.round((t - Math.floor(t)) * 1e9) % 1_000_000_000);
      times[0] = sec(atime);
      times[1] = nsec(atime);
      times[2] = sec(mtime);
      times[3] = nsec(mtime);
      if (utimensat(dirfd, name, times, flags) !== 0) fail('utimensat', name);
    },
    fsetxattr(fd, name, value) {
      if (fsetxattr(fd, name, value, value.length, 0) !== 0) fail('fsetxattr', name);
    },
    fgetxattr(fd, name) {
      const n = Number(fgetxattr(fd, name, xattrBuf, xattrBuf.length));
      if (n >= 0) return Buffer.from(xattrBuf.subarray(0, n));
      const code = koffi.errno();
      if (code === os.errno.ENODATA || code === os.errno.ENOTSUP || code === os.errno.EOPNOTSUPP) return undefined;
      return fail('fgetxattr', name);
    },
    lsetxattrat(dirfd, name, attr, value) {
      if (lsetxattr(`/proc/self/fd/${dirfd}/${name}`, attr, value, value.length, 0) !== 0) fail('lsetxattr', `${attr} on ${name}`);
    },
  };
  return loaded;
}

/** Linux's dev_t encoding (glibc gnu_dev_makedev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
