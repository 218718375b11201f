// Docker-shaped models shared by the engine, the API and the UI.

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
}

export interface MountSpec {
  Type: 'bind' | 'tmpfs' | 'volume';
  Source: string;
  Target: string;
  ReadOnly?: boolean;
  /** tmpfs size in bytes and mode */
  TmpfsSize?: number;
  TmpfsMode?: number;
  Propagation?: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface RestartPolicy {
  Name: 'no' | 'on-failure' | 'always' | 'unless-stopped' | '';
  MaximumRetryCount?: number;
}

/** What a caller asks for; every field optional, filled from the image and defaults. */
export interface ContainerCreateOptions {
  Image: string;
  name?: string;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Domainname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Labels?: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig?: HostConfig;
}

export interface HostConfig {
  Binds?: string[] | null;
  Mounts?: MountSpec[] | null;
  Tmpfs?: Record<string, string> | null;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  NetworkMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  ConsoleSize?: [number, number];
  OomScoreAdj?: number;
  Sysctls?: Record<string, string> | null;
  LogConfig?: { Type: string; Config?: Record<string, string> };
}

export interface ContainerStats {
  read: string;
  cpu: { totalNs: number; userNs: number; systemNs: number; perCpuNs: number[]; throttledPeriods: number; systemNs_host: number; onlineCpus: number };
  memory: { usage: number; limit: number; cache: number; inactiveFile: number; maxUsage: number; stats: Record<string, number> };
  pids: { current: number; limit: number };
  blkio: { op: 'read' | 'write'; major: number; minor: number; value: number }[];
  oomKills: number;
}
