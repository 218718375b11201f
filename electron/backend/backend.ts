// The engine's public face: one narrow interface per domain, as moby's API routers sit on
// backend interfaces. The Docker API routers (electron/api), the app's host (electron/host)
// and Electron main see an engine only through these; the engine in this process implements
// them (electron/engine/backend), and so can a client of an engine elsewhere. Everything is
// asynchronous and speaks the Docker API's shapes (common/docker.ts); errors carry a code
// (common/errors.ts CodedError).
import type { Duplex, Readable } from 'node:stream';
import type { ContainerCreateOptions } from '../../common/models.ts';
import type {
  ChangeItem, ContainerInspect, ContainerListItem, ContainerStatsReading, ContainerUpdate, DiskUsage, EngineEvent, ExecConfig, ExecInspect,
  Filters, HistoryEntry, ImageDeleteItem, ImageInspect, ImageSummary, LogEntry, LogOptions, NetworkCreateOptions, NetworkView, PathStat,
  ProgressMessage, RegistryCredentials, SystemInfo, TopResult, VersionInfo, VolumeCreateOptions, VolumeView,
} from '../../common/docker.ts';
import type { EndpointConfig } from '../../common/models.ts';
import type { StatsMark, StatsSample, VolumeListing } from '../../common/views.ts';
import type { Disposer } from '../../common/disposable.ts';
import type { BuildOutput, BuildRecord, BuildRequest, CommitOptions } from '../../common/build.ts';

export type { BuildOutput, BuildRequest, CommitOptions, Disposer };

/**
 * A container's stdio as the Docker API carries it over a hijacked connection: writes are
 * stdin (end() closes it), reads are raw output with a TTY and Docker's 8-byte multiplexed
 * frames without. Destroying it detaches.
 */
export interface StdioStream {
  stream: Duplex;
  tty: boolean;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** replay the log first */
  logs?: boolean;
  /** follow the live output (without it, only the logs) */
  stream?: boolean;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ContainersBackend {
  list(opts?: { all?: boolean; filters?: Filters; limit?: number; size?: boolean }): Promise<ContainerListItem[]>;
  inspect(ref: string): Promise<ContainerInspect>;
  create(opts: ContainerCreateOptions): Promise<{ Id: string; Warnings: string[] }>;
  /** Starts it; clients attached before the start get its output from the first byte. NOT_MODIFIED when running. */
  start(ref: string): Promise<void>;
  /** NOT_MODIFIED when it is not running */
  stop(ref: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  restart(ref: string, opts?: { timeout?: number }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  remove(ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  /** `docker rm --link PARENT/ALIAS`: drops a legacy link; both containers stay */
  removeLink(parent: string, alias: string): Promise<void>;
  update(ref: string, u: ContainerUpdate): Promise<{ Warnings: string[] }>;
  resize(ref: string, height: number, width: number): Promise<void>;
  wait(ref: string, condition?: WaitCondition, signal?: AbortSignal): Promise<{ StatusCode: number; Error?: { Message: string } }>;
  prune(filters?: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  logs(ref: string, opts: LogOptions & { signal?: AbortSignal }): AsyncIterable<LogEntry>;
  /** Works before the start too: stdin waits for the process, output starts with its first byte. */
  attach(ref: string, opts: AttachOptions): Promise<StdioStream>;
  /** One reading of the counters (the API's stats stream takes one a second). */
  stats(ref: string): Promise<ContainerStatsReading>;
  top(ref: string, psArgs?: string): Promise<TopResult>;
  changes(ref: string): Promise<ChangeItem[]>;
  export(ref: string): Promise<Readable>;
  archiveStat(ref: string, path: string): Promise<PathStat>;
  archiveGet(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }>;
  archivePut(ref: string, dir: string, tar: AsyncIterable<Buffer>): Promise<void>;
}

export interface ExecBackend {
  create(container: string, cfg: ExecConfig): Promise<{ Id: string }>;
  /**
   * Runs it: detached (undefined back), or with its stdio as a stream that ends when the
   * process does; the exit code is in inspect() by the time the stream ends.
   */
  start(id: string, opts?: { detach?: boolean; consoleSize?: [number, number] }): Promise<StdioStream | undefined>;
  resize(id: string, height: number, width: number): Promise<void>;
  inspect(id: string): Promise<ExecInspect>;
}

export interface PullOptions {
  credentials?: RegistryCredentials;
  platform?: { os: string; architecture: string; variant?: string };
  /** every tag of the repository (`docker pull -a`) */
  allTags?: boolean;
  onProgress?: (m: ProgressMessage) => void;
  signal?: AbortSignal;
}

export interface ImagesBackend {
  list(opts?: { all?: boolean; filters?: Filters; sharedSize?: boolean }): Promise<ImageSummary[]>;
  inspect(ref: string): Promise<ImageInspect>;
  history(ref: string): Promise<HistoryEntry[]>;
  pull(ref: string, opts?: PullOptions): Promise<void>;
  push(ref: string, opts?: { credentials?: RegistryCredentials; onProgress?: (m: ProgressMessage) => void; signal?: AbortSignal }): Promise<{ tag: string; digest: string; size: number }>;
  tag(source: string, target: string): Promise<void>;
  remove(ref: string, opts?: { force?: boolean }): Promise<ImageDeleteItem[]>;
  prune(opts?: { all?: boolean; filters?: Filters }): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }>;
  /** `docker import`: a rootfs tarball as a one-layer image; the new image's id */
  import(tar: Readable, opts?: { ref?: string; comment?: string }): Promise<string>;
  /** `docker load`: Docker's "Loaded image: …" lines */
  load(tar: Readable): Promise<string[]>;
  save(refs: string[]): Promise<Readable>;
  /** POST /build: the image id; output goes to `out`, errors before its first call are the request's */
  build(context: Readable, req: BuildRequest, out: BuildOutput, signal?: AbortSignal): Promise<string>;
  /** POST /commit: a container's changes as a new image */
  commit(container: string, opts: CommitOptions): Promise<{ Id: string }>;
  /** the engine's builds, newest first (whoever started them) */
  builds(): Promise<BuildRecord[]>;
  buildRecord(id: string): Promise<BuildRecord>;
  removeBuildRecord(id: string): Promise<void>;
  /** stops a running build, whoever started it: its RUN is killed, the cache kept (as a client that goes away) */
  cancelBuild(id: string): Promise<void>;
  /** every change of a build's record, as it runs and when it ends */
  onBuild(listener: (r: BuildRecord) => void): Disposer;
  login(server: string, credentials: RegistryCredentials): Promise<void>;
  logout(server: string): Promise<boolean>;
}

export interface NetworksBackend {
  list(filters?: Filters): Promise<NetworkView[]>;
  inspect(ref: string): Promise<NetworkView>;
  create(opts: NetworkCreateOptions): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  connect(network: string, container: string, endpoint?: EndpointConfig | null): Promise<void>;
  disconnect(network: string, container: string, force?: boolean): Promise<void>;
  prune(filters?: Filters): Promise<{ NetworksDeleted: string[] }>;
}

export interface VolumesBackend {
  list(filters?: Filters): Promise<VolumeView[]>;
  inspect(name: string): Promise<VolumeView>;
  create(opts: VolumeCreateOptions): Promise<VolumeView>;
  remove(name: string, force?: boolean): Promise<void>;
  prune(filters?: Filters): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
  /** A directory's entries or a file's first bytes, for the app's volume browser. */
  browse(name: string, path: string): Promise<VolumeListing>;
}

export interface SystemBackend {
  info(): Promise<SystemInfo>;
  version(): Promise<VersionInfo>;
  diskUsage(): Promise<DiskUsage>;
  /** `docker builder prune` (and `system prune`): the cache entries, today the partial downloads of failed pulls */
  pruneCache(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
  /** Events as they happen; with `since`, the kept ones from then first. */
  events(listener: (e: EngineEvent) => void, opts?: { since?: number }): Disposer;
  /** The events kept, oldest first. */
  recentEvents(): Promise<EngineEvent[]>;
}

/** Live resource graphs: one sample a second per running container, 15 minutes kept. */
export interface StatsBackend {
  subscribe(listener: (samples: StatsSample[]) => void): Disposer;
  /** marks of OOM kills, restarts, starts and exits, for the graphs' time axis */
  onMark(listener: (m: StatsMark) => void): Disposer;
  history(id: string): Promise<{ samples: StatsSample[]; marks: StatsMark[] }>;
}

export interface Backend {
  containers: ContainersBackend;
  exec: ExecBackend;
  images: ImagesBackend;
  networks: NetworksBackend;
  volumes: VolumesBackend;
  system: SystemBackend;
  stats: StatsBackend;
}
