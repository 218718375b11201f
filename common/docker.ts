// The Docker Engine API's shapes as a backend returns them: the engine in this process, a
// Berth engine elsewhere, or any Docker-API engine (dockerd, podman) through a client. The
// Docker API routers send them as they are; the UI host turns them into common/views.ts.
import type { ContainerState, ContainerStats, ContainerStatus, EndpointSettings, HealthConfig, HostConfig, MountPoint, NetworkView, PortMap, VolumeView } from './models.ts';

export type { NetworkView, VolumeView };

/** filters={"label":["a=b"]}: a key and the values any (or, for labels, every) of which must match. */
export type Filters = Record<string, string[]>;

export interface ContainerConfigView {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Image: string;
  WorkingDir: string;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object> | null;
}

export interface ContainerNetworkSettings {
  Ports: PortMap;
  SandboxKey: string;
  IPAddress: string;
  Gateway: string;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
  [extra: string]: unknown;
}

/** GET /containers/{id}/json */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  Name: string;
  RestartCount: number;
  ExecIDs: string[] | null;
  HostConfig: HostConfig & Record<string, unknown>;
  Mounts: MountPoint[];
  Config: ContainerConfigView & Record<string, unknown>;
  NetworkSettings: ContainerNetworkSettings;
  LogPath: string;
  [extra: string]: unknown;
}

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** An item of GET /containers/json */
export interface ContainerListItem {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: PortSummary[];
  Labels: Record<string, string>;
  State: ContainerStatus;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, EndpointSettings> };
  Mounts: MountPoint[];
  SizeRw?: number;
  SizeRootFs?: number;
}

/** POST /containers/{id}/update: the resources and restart policy of a container */
export type ContainerUpdate = Partial<Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuShares' | 'CpuQuota' | 'CpuPeriod' | 'CpusetCpus' | 'CpusetMems' | 'PidsLimit' | 'RestartPolicy'>>;

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** the text, with its newline unless the record was partial */
  text: string;
  time: string;
}

export interface LogOptions {
  stdout?: boolean;
  stderr?: boolean;
  /** number of lines from the end, or undefined for all */
  tail?: number;
  /** unix seconds (fractions allowed) */
  since?: number;
  until?: number;
  follow?: boolean;
}

/** A network device's counters (Docker's stats `networks` entries). */
export interface NetDev {
  rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number;
  tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number;
}

/** One reading of a container's counters, raw (GET /containers/{id}/stats turns two into rates). */
export interface ContainerStatsReading extends ContainerStats {
  networks: Record<string, NetDev>;
}

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** docker diff: 0 modified, 1 added, 2 deleted */
export interface ChangeItem {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** X-Docker-Container-Path-Stat */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** POST /containers/{id}/exec */
export interface ExecConfig {
  Cmd: string[];
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  Privileged?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
}

/** GET /exec/{id}/json */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  DetachKeys: string;
}

/** GET /images/json */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** GET /images/{name}/json */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Config: Record<string, unknown>;
  RootFS: { Type: string; Layers: string[] };
  [extra: string]: unknown;
}

/** GET /images/{name}/history */
export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** A line of a pull or push stream. */
export interface ProgressMessage {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface RegistryCredentials {
  username: string;
  password: string;
  /** an identity token (OAuth2 refresh token) instead of a password */
  identityToken?: string;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'builder';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

/** GET /system/df */
export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  Containers: ContainerListItem[];
  Volumes: VolumeView[];
  BuildCache: unknown[];
}

/** GET /info, the fields the app reads; the rest passes through. */
export interface SystemInfo {
  ID: string;
  Name: string;
  ServerVersion: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  KernelVersion: string;
  OperatingSystem: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  CgroupVersion: string;
  [extra: string]: unknown;
}

/** GET /version */
export interface VersionInfo {
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  [extra: string]: unknown;
}

/** POST /networks/create */
export interface NetworkCreateOptions {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  CheckDuplicate?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** POST /volumes/create */
export interface VolumeCreateOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}
