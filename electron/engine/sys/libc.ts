// Syscalls the engine makes from Node where that is safe (host mount namespace, any thread).
// Namespace changes are never made here: they act on the calling thread only.
import koffi from 'koffi';

export interface Libc {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
}

/** Linux's dev_t encoding (glibc gnu_dev_makedev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export const MNT_DETACH = 2;

export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  const mknod = lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
  const lsetxattr = lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const check = (rc: number, what: string) => {
    if (rc === 0) return;
    const errno = koffi.errno();
    const err = new Error(`${what}: ${strerror(errno)}`) as Error & { errno: number };
    err.errno = errno;
    throw err;
  };
  return {
    mount: (source, target, fstype, flags, data) => check(mount(source, target, fstype, flags, data), `mount ${fstype} on ${target}`),
    umount: (target, flags) => check(umount2(target, flags), `unmount ${target}`),
    mknod: (path, mode, major, minor) => check(mknod(path, mode, makedev(major, minor)), `mknod ${path}`),
    lsetxattr: (path, name, value) => check(lsetxattr(path, name, value, value.length, 0), `setxattr ${name} on ${path}`),
  };
}
