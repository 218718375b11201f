// Everything the plan compiler needs, fully resolved by the container service.
import type { CapSets } from './caps.ts';
import type { ResolvedRlimit } from './rlimits.ts';

export interface SpecMount {
  kind: 'fs' | 'bind' | 'rbind';
  source: string;
  target: string;
  fstype?: string;
  flags?: number;
  data?: string;
  propagation?: number;
}

/** pid/ipc/uts/cgroup namespaces: a new one, the host's, or another container's to join */
export interface NamespaceSpec {
  pid: 'new' | 'host' | { join: string };
  ipc: 'new' | 'host' | { join: string };
  uts: 'new' | 'host';
  cgroup: 'new' | 'host';
  /** /dev/shm: a tmpfs of its own, a host directory bound in, or none (--ipc none) */
  shm: 'tmpfs' | 'none' | { bind: string };
}

/** A device node made in the container (--device), with its host identity. */
export interface SpecDevice {
  hostPath: string;
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface RuntimeSpec {
  rootfs: string;
  runDir: string;
  logPath: string;
  logMaxSize: number;
  logMaxFiles: number;
  exitFile: string;
  argv: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  domainname?: string;
  terminal: boolean;
  /** pid 1 is the helper's reaper, forwarding signals to the command (--init) */
  init?: boolean;
  consoleSize?: [number, number];
  openStdin: boolean;
  stdinOnce: boolean;
  caps: CapSets;
  noNewPrivileges: boolean;
  seccomp?: Buffer;
  readonlyRootfs: boolean;
  privileged: boolean;
  mounts: SpecMount[];
  cgroup: { procsFiles: string[]; oomFile?: string; v1Mounts: [string, string][]; hasUnified: boolean; unifiedOnly: boolean };
  rlimits: ResolvedRlimit[];
  oomScoreAdj?: number;
  userns?: { uidMap: string; gidMap: string };
  /** the engine already runs in a user namespace (rootless): no device nodes, no sysfs without a netns */
  insideUserns?: boolean;
  sysctls: Record<string, string>;
  shmSize: number;
  /** default: all new, a tmpfs /dev/shm */
  namespaces?: NamespaceSpec;
  devices?: SpecDevice[];
  /** a new network namespace, the host's, or another container's */
  netns: 'new' | 'host' | { join: string };
  startNow: boolean;
}
