// Syscalls the engine makes from Node where that is safe (host mount namespace, any thread).
// Namespace changes are never made here: they act on the calling thread only. File operations
// inside trees someone else controls are in fsat.ts.
import koffi from 'koffi';

export interface Libc {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
  /**
   * An overlay mount through the new mount API (fsopen, fsconfig, fsmount, move_mount), one
   * `lowerdir+` per layer (top-most first), so no 4 KiB option string limits the layer count.
   * Needs Linux 6.8; flags are options without a value (userxattr).
   */
  overlay(target: string, o: { lowers: string[]; upper: string; work: string; options: Record<string, string>; flags: string[] }): void;
}

export const MNT_DETACH = 2;

// Syscall numbers of the new mount API: the same on x86_64 and arm64 (the generic table).
const SYS = { move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432 };
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
const AT_FDCWD = -100;

export function loadLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  const mount = lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
  const umount2 = lib.func('int umount2(const char *target, int flags)');
  const strerror = lib.func('const char *strerror(int errnum)');
  const syscall = lib.func('long syscall(long number, ...)');
  const close = lib.func('int close(int fd)');
  const check = (rc: number, what: string) => {
    if (rc === 0) return;
    const errno = koffi.errno();
    const err = new Error(`${what}: ${strerror(errno)}`) as Error & { errno: number };
    err.errno = errno;
    throw err;
  };
  const fail = (what: string): never => {
    const errno = koffi.errno();
    const err = new Error(`${what}: ${strerror(errno)}`) as Error & { errno: number };
    err.errno = errno;
    throw err;
  };
  const setString = (fd: number, key: string, value: string) => {
    if (Number(syscall(SYS.fsconfig, 'int', fd, 'int', FSCONFIG_SET_STRING, 'str', key, 'str', value, 'int', 0)) < 0) fail(`overlay option ${key}=${value}`);
  };
  return {
    mount: (source, target, fstype, flags, data) => check(mount(source, target, fstype, flags, data), `mount ${fstype} on ${target}`),
    umount: (target, flags) => check(umount2(target, flags), `unmount ${target}`),
    overlay(target, o) {
      const fs = Number(syscall(SYS.fsopen, 'str', 'overlay', 'uint', 1));
      if (fs < 0) fail('fsopen overlay');
      let mnt = -1;
      try {
        for (const l of o.lowers) setString(fs, 'lowerdir+', l);
        setString(fs, 'upperdir', o.upper);
        setString(fs, 'workdir', o.work);
        for (const [k, v] of Object.entries(o.options)) setString(fs, k, v);
        for (const f of o.flags) {
          if (Number(syscall(SYS.fsconfig, 'int', fs, 'int', FSCONFIG_SET_FLAG, 'str', f, 'str', null, 'int', 0)) < 0) fail(`overlay option ${f}`);
        }
        if (Number(syscall(SYS.fsconfig, 'int', fs, 'int', FSCONFIG_CMD_CREATE, 'str', null, 'str', null, 'int', 0)) < 0) fail(`create overlay for ${target}`);
        mnt = Number(syscall(SYS.fsmount, 'int', fs, 'uint', 1, 'uint', 0));
        if (mnt < 0) fail(`fsmount overlay for ${target}`);
        if (Number(syscall(SYS.move_mount, 'int', mnt, 'str', '', 'int', AT_FDCWD, 'str', target, 'uint', MOVE_MOUNT_F_EMPTY_PATH)) < 0) fail(`move overlay to ${target}`);
      } finally {
        if (mnt >= 0) close(mnt);
        close(fs);
      }
    },
  };
}
