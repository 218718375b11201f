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
  /** set while a container with a health check runs, and kept after it stops */
  Health?: HealthState;
}

/** A health check as Docker writes it: durations in nanoseconds, 0 for the default. */
export interface HealthConfig {
  /** [] inherits the image's; ["NONE"]; ["CMD", arg...]; ["CMD-SHELL", command] */
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  /** the last five results, oldest first */
  Log: HealthLogEntry[];
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

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  /** some of r, w, m */
  CgroupPermissions: string;
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
  /** before API 1.44; later clients put it in the endpoint's config */
  MacAddress?: string;
  Healthcheck?: HealthConfig | null;
  /** "80/tcp" → {} */
  ExposedPorts?: Record<string, object> | null;
  /** anonymous volumes: "/data" → {} */
  Volumes?: Record<string, object> | null;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointConfig | null> | null } | null;
}

export interface EndpointConfig {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
  MacAddress?: string;
}

export interface PortBindingSpec {
  HostIp?: string;
  HostPort?: string;
}

/** "80/tcp" → host bindings, or null when exposed but not published */
export type PortMap = Record<string, PortBindingSpec[] | null>;

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  /** the address asked for (--mac-address), kept across restarts; not shown by inspect */
  ConfiguredMac?: string;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
  DriverOpts: null;
}

export interface NetworkSettings {
  Networks: Record<string, EndpointSettings>;
  Ports: PortMap;
  SandboxKey: string;
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface NetworkView {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface VolumeView {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  UsageData?: { Size: number; RefCount: number };
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
  CpuRealtimeRuntime?: number;
  CpuRealtimePeriod?: number;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  /** pid 1 is an init that reaps zombies and forwards signals */
  Init?: boolean | null;
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  PublishAllPorts?: boolean;
  Links?: string[] | null;
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  ExtraHosts?: string[] | null;
  VolumesFrom?: string[] | null;
  VolumeDriver?: string;
  UsernsMode?: string;
  /** '' (own), host, container:<name|id> */
  PidMode?: string;
  /** private (default), shareable, host, none, container:<name|id> */
  IpcMode?: string;
  /** '' (own), host */
  UTSMode?: string;
  /** host or private */
  CgroupnsMode?: string;
  /** extra groups of the container's processes, names from its /etc/group or ids */
  GroupAdd?: string[] | null;
  Devices?: DeviceMapping[] | null;
  /** device cgroup rules such as "c 1:3 rwm" */
  DeviceCgroupRules?: string[] | null;
  Runtime?: string;
  Isolation?: string;
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
