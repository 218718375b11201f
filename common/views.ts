// What the UI sees of the engine: compact, serialisable shapes built by the contract host.

import type { ContainerStatus, HealthStatus } from './models.ts';

export interface PortView {
  privatePort: number;
  publicPort?: number;
  ip?: string;
  type: 'tcp' | 'udp';
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string;
  created: string;
  state: ContainerStatus;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  oomKilled: boolean;
  restartCount: number;
  labels: Record<string, string>;
  ports: PortView[];
  tty: boolean;
  memoryLimit: number;
  /** while a container with a health check runs: its status and the last result */
  health?: { status: HealthStatus; failingStreak: number; lastExitCode?: number; lastOutput?: string };
}

export interface ImageView {
  id: string;
  tags: string[];
  digests: string[];
  size: number;
  created: string;
  containers: number;
}

/** One stats reading, already turned into rates. */
export interface StatsSample {
  id: string;
  /** ms since epoch */
  t: number;
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  rxBytes: number;
  txBytes: number;
  /** bytes per second since the previous sample */
  rxRate: number;
  txRate: number;
  blkRead: number;
  blkWrite: number;
  blkReadRate: number;
  blkWriteRate: number;
  pids: number;
}

/** Something worth marking on a stats graph. */
export interface StatsMark {
  id: string;
  t: number;
  kind: 'oom' | 'restart' | 'start' | 'die';
}

export interface LayerProgress {
  id: string;
  status: string;
  current: number;
  total: number;
}

export interface JobView {
  id: string;
  kind: 'pull' | 'push' | 'prune' | 'build';
  title: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  startedAt: number;
  finishedAt?: number;
  layers: LayerProgress[];
  message: string;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  time: string;
  text: string;
}

export interface EngineEventView {
  type: string;
  action: string;
  id: string;
  name: string;
  time: number;
}

export interface EngineInfo {
  version: string;
  kernel: string;
  cgroupMode: string;
  root: string;
  cpus: number;
  memory: number;
  dockerSocket?: string;
  /** the engine runs as the user, in a user namespace */
  rootless?: boolean;
  /** resource limits (memory, CPUs) can be enforced */
  limits?: boolean;
  /** why they cannot, for the banner and the disabled fields */
  limitsReason?: string;
  /** the engine's own warnings (docker info's), without the WARNING: prefix */
  warnings?: string[];
}

export interface NetworkSummary {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  builtin: boolean;
  created: string;
  labels: Record<string, string>;
  /** the bridge device on the host */
  device: string;
  containers: { id: string; name: string; running: boolean; ip: string }[];
}

/** One entry of a directory inside a volume. */
export interface VolumeEntry {
  name: string;
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
  mtime: string;
  /** a symlink's target, as stored */
  target?: string;
}

/** A path inside a volume: a directory's entries, or the start of a file. */
export interface VolumeListing {
  volume: string;
  /** normalized, starting with / */
  path: string;
  type: 'dir' | 'file';
  entries?: VolumeEntry[];
  /** entries left out past the listing limit */
  more?: number;
  size?: number;
  /** the first bytes of a text file */
  preview?: string;
  binary?: boolean;
}

export interface VolumeSummary {
  name: string;
  created: string;
  labels: Record<string, string>;
  anonymous: boolean;
  mountpoint: string;
  options: Record<string, string>;
  containers: { id: string; name: string; running: boolean }[];
}

/** A machine: Berth's engine in a Linux VM this app keeps (qemu, vz or wsl2). */
export interface MachineView {
  name: string;
  kind: 'linux-native' | 'qemu' | 'vz' | 'wsl2';
  state: 'absent' | 'stopped' | 'starting' | 'running' | 'stopping' | 'error';
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  /** bytes the sparse data disk takes on the host */
  diskUsed: number;
  shares: string[];
  /** the docker context that reaches it */
  context: string;
  bootMs?: number;
  engineVersion?: string;
  accel?: string;
  lastError?: string;
  ports: { proto: string; hostIp: string; hostPort: number; container: string }[];
  portProblems: string[];
  /** what a start in progress is doing ("Building the guest image…", "Booting…") */
  progress?: string;
}

/** An engine the app can manage: Berth's own, a docker context, or DOCKER_HOST. */
export interface EngineView {
  name: string;
  /** unix:///…, tcp://…, ssh://… */
  host: string;
  description: string;
  source: 'berth' | 'context' | 'env';
  /** the engine this window shows */
  current: boolean;
  /** the docker CLI's current context */
  dockerDefault: boolean;
  /** a context with TLS files in the CLI's store */
  tls: boolean;
  status: EngineStatus;
}

export interface EngineStatus {
  reachable: boolean;
  /** why not, naming the engine and the fix */
  error?: string;
  version?: string;
  os?: string;
  containers?: number;
  running?: number;
}

/** A running container of some engine, for the all-engines view. */
export interface EngineContainer {
  engine: string;
  id: string;
  name: string;
  image: string;
  status: string;
}
