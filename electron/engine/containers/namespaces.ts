// A container's pid, ipc, uts and cgroup namespaces from its HostConfig modes (--pid, --ipc,
// --uts, --cgroupns), resolved at start: the host's, its own, or another running container's.
// A shareable IPC namespace keeps /dev/shm on a tmpfs the engine mounts under the run
// directory, so a container joining it can bind the same one (dockerd's rule: only
// shareable or host donors).
import { mkdirSync, statSync } from 'node:fs';
import { conflict, invalid, notFound } from '../errors.ts';
import type { NamespaceSpec } from '../runtime/runtimeSpec.ts';
import type { ContainerRecord } from './containerRecord.ts';

export interface MountCalls {
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
}

const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;
const MNT_DETACH = 2;

export const shmDir = (runDir: string) => `${runDir}/shm`;

function donor(mode: string, lookup: (ref: string) => ContainerRecord, self: ContainerRecord, what: string): ContainerRecord {
  const ref = mode.slice('container:'.length);
  let other: ContainerRecord;
  try {
    other = lookup(ref);
  } catch {
    throw notFound(`No such container: ${ref}`);
  }
  if (other.Id === self.Id) throw invalid(`cannot join the ${what} namespace of the container itself`);
  if (!other.State.Running || !other.runtime) throw conflict(`cannot join ${what} of a non running container: ${other.Id}`);
  return other;
}

/** The namespaces to set up, and /dev/shm; mounts the shareable tmpfs (undone by releaseShm). */
export function resolveNamespaces(r: ContainerRecord, runDir: string, lookup: (ref: string) => ContainerRecord, mounts: MountCalls | undefined): NamespaceSpec {
  const h = r.HostConfig;
  const ns: NamespaceSpec = { pid: 'new', ipc: 'new', uts: h.UTSMode === 'host' ? 'host' : 'new', cgroup: h.CgroupnsMode === 'host' ? 'host' : 'new', shm: 'tmpfs' };
  if (h.PidMode === 'host') ns.pid = 'host';
  else if (h.PidMode?.startsWith('container:')) ns.pid = { join: `/proc/${donor(h.PidMode, lookup, r, 'PID').runtime!.pid}/ns/pid` };
  const ipc = h.IpcMode || 'private';
  if (ipc === 'host') {
    ns.ipc = 'host';
    ns.shm = { bind: '/dev/shm' };
  } else if (ipc === 'none') {
    ns.shm = 'none';
  } else if (ipc === 'shareable') {
    if (!mounts) throw invalid('IpcMode shareable is not available in this engine');
    const dir = shmDir(runDir);
    mkdirSync(dir, { recursive: true });
    mounts.mount('shm', dir, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${h.ShmSize || 64 * 1024 * 1024}`);
    ns.shm = { bind: dir };
  } else if (ipc.startsWith('container:')) {
    const other = donor(ipc, lookup, r, 'IPC');
    const mode = other.HostConfig.IpcMode;
    if (mode !== 'shareable' && mode !== 'host') {
      throw conflict(`can't join IPC of container ${other.Id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    ns.ipc = { join: `/proc/${other.runtime!.pid}/ns/ipc` };
    ns.shm = { bind: mode === 'host' ? '/dev/shm' : shmDir(other.runtime!.runDir) };
    if (mode === 'shareable') statSync(ns.shm.bind);
  }
  return ns;
}

/** Unmounts a shareable /dev/shm, if the container had one. */
export function releaseShm(runDir: string, mounts: MountCalls | undefined): void {
  try {
    mounts?.umount(shmDir(runDir), MNT_DETACH);
  } catch {
    /* not mounted */
  }
}
