// Syscalls the engine makes from Node where that is safe (host mount namespace, any thread).
// Namespace changes are never made here: they act on the calling thread only. File operations
// inside trees someone else controls are in fsat.ts.
import koffi from 'koffi';

export interface Libc {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
}

export const MNT_DETACH = 2;

export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  const umount2 = lib.func('int umount2(const char *target, int flags)');
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
  };
}
