// The engine: a library with no Electron in its module graph. Electron main and
// `berth daemon` both build it with createEngine() and own its lifetime.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ContainerCreateOptions } from '../../common/models.ts';
import { Disposables } from '../../common/disposable.ts';
import type { CgroupManager, UsageFiles } from './cgroups/cgroupManager.ts';
import { FsCgroupManager } from './cgroups/fsCgroupManager.ts';
import type { ContainerRecord } from './containers/containerRecord.ts';
import { ContainerService, type StartHooks, type WaitCondition } from './containers/containerService.ts';
import { ContainerStore } from './containers/containerStore.ts';
import { userFiles } from './containers/specBuilder.ts';
import { Attacher } from './containers/attach.ts';
import { ExecSessions } from './containers/execSessions.ts';
import { prepareExec, runToEnd, spawnExecPipes, type ExecOptions, type PreparedExec } from './containers/execRunner.ts';
import { HEALTH_OUTPUT_MAX, HealthMonitor } from './containers/health.ts';
import { readLogs, type LogOptions } from './containers/logReader.ts';
import { readStats } from './containers/statsReader.ts';
import { archiveOut, changes, extractInto, lookupForCopy, type Change, type PathStat } from './containers/rootfsArchive.ts';
import { FsView } from './confined/fsView.ts';
import { tarChunks, tarFromView } from './confined/tree.ts';
import { CacheMounts, inLowers, removeStubs } from './build/runMounts.ts';
import { BuildHistory } from './build/history.ts';
import { applyChanges, containerRuntimeConfig, ENGINE_TARGETS, type CommitOptions } from './build/commit.ts';
import { coalesce } from './images/tarWriter.ts';
import { conflict, EngineError, invalid, notRunning, unsupported } from './errors.ts';
import { EventBus } from './events/eventBus.ts';
import { ensureHelloWorld } from './images/helloWorld.ts';
import type { Image, ImageConfig, ImportOptions } from './images/imageStore.ts';
import { loadImages, loadOciLayout, saveImages, type LoadResult } from './images/archive.ts';
import { CredentialStore } from './images/distribution/credentials.ts';
import { pullAllTags, pullImage, type PullOptions } from './images/distribution/pull.ts';
import { pushImage, type PushOptions, type PushResult } from './images/distribution/push.ts';
import { RegistryClient } from './images/distribution/registryClient.ts';
import { imageHistory, imageInspect, imageSummaries } from './images/imageViews.ts';
import { LocalImageStore, normalizeName, type LayerRecord } from './images/localImageStore.ts';
import { OverlaySnapshotter } from './layers/overlaySnapshotter.ts';
import type { Snapshotter } from './layers/snapshotter.ts';
import { systemClock, type Clock } from './clock.ts';
import { NetworkService } from './network/networkService.ts';
import { NativeHelperClient, type HelperClient } from './runtime/helperClient.ts';
import { VolumeService } from './volumes/volumeService.ts';
import { SeccompCompiler } from './runtime/seccomp/compiler.ts';
import { loadLibc, type Libc } from './sys/libc.ts';
import { AT, isDir, loadFsAt, O, type FsAt, type StatAt } from './sys/fsat.ts';
import { inUserNamespace } from './sys/userns.ts';
import { NoCgroupManager } from './cgroups/noCgroupManager.ts';
import { adoptDelegation, findDelegation } from './cgroups/delegated.ts';
import type { LimitSupport } from './cgroups/limitSupport.ts';
import { ensureEgress } from './network/egress.ts';
import type { IdFiles } from './runtime/remap.ts';

/** Why a rootless engine has no cgroups on this host (cgroup v1 or hybrid, or v2 not delegated to the user). */
export const ROOTLESS_NO_CGROUPS = 'rootless mode has no cgroups on this host (resource limits and pause need cgroup v2 delegated to the user by systemd)';

export interface EngineOptions {
  /** persistent state: images, layers, containers */
  root: string;
  /** sockets of running shims (short paths: unix socket names are limited to 108 bytes) */
  runRoot: string;
  /** the native helper binary */
  helperPath: string;
  /** the static hello-world program for the built-in image */
  helloPath?: string;
  /** parent cgroup of all containers */
  cgroupParent?: string;
  /** registry credentials, ~/.docker/config.json format (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json) */
  authFile?: string;
  /** registries (host:port) reachable over plain HTTP besides loopback */
  insecureRegistries?: string[];
  /** mirrors tried before Docker Hub for docker.io images */
  registryMirrors?: string[];
  /** Docker Hub's registry endpoint (default https://registry-1.docker.io; a closed site can point it at its own copy) */
  registryHub?: string;
  /** device name of the default bridge network (default: derived from the network's id) */
  defaultBridge?: string;
  /** the default bridge's gateway/prefix, as dockerd's --bip */
  defaultBridgeIp?: string;
  /** names added to every container's hosts file (`berth daemon --host-alias NAME=IP`) */
  hostAliases?: Record<string, string>;
  /** the seams, real ones (overlay, cgroupfs, the native helper, the system clock) unless given */
  seams?: EngineSeams;
  /**
   * Rootless mode: the engine runs as root of a user and mount namespace the helper made
   * (`berth-helper rootless-init`); its bridges live in the network namespace of this pause process.
   */
  rootless?: { pausePid: number };
  /** where --userns=private's host ids are registered (default /etc/subuid and /etc/subgid; tests use their own) */
  idFiles?: IdFiles;
}

/** What the container lifecycle runs on; tests above these seams pass fakes (engine/testing). */
export interface EngineSeams {
  snapshotter?: Snapshotter;
  cgroups?: CgroupManager;
  helper?: HelperClient;
  clock?: Clock;
}

export function defaultAuthFile(): string {
  return `${process.env.DOCKER_CONFIG ?? `${homedir()}/.docker`}/config.json`;
}

export interface Probe {
  kernel: string;
  arch: string;
  cgroup: string;
  overlay: boolean;
  seccomp: boolean;
  pidfd: boolean;
  openat2: boolean;
  userns: boolean;
  euid: number;
}

/** A rootless engine's cgroups: its delegated cgroup v2 subtree, or none at all. */
function rootlessCgroups(store: ContainerStore): CgroupManager {
  const d = findDelegation();
  if (d) {
    const { layout, supports, reason } = adoptDelegation(d);
    return new FsCgroupManager('containers', layout, supports, reason);
  }
  return new NoCgroupManager((id) => store.all().find((r) => r.Id === id)?.State.Pid || undefined, ROOTLESS_NO_CGROUPS);
}

export class Engine {
  readonly events = new EventBus();
  readonly images: LocalImageStore;
  /** RUN --mount=type=cache directories */
  readonly cacheMounts: CacheMounts;
  /** the builds this engine ran, for the app's Builds view */
  readonly builds: BuildHistory;
  readonly containers: ContainerService;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly registry: RegistryClient;
  readonly probe: Probe;
  private readonly cgroups: CgroupManager;
  private readonly helper: HelperClient;
  private readonly seccomp: SeccompCompiler;
  private readonly snapshotter: Snapshotter;
  private readonly libc: Libc;
  private readonly fs: FsAt;
  readonly attacher: Attacher;
  readonly execs: ExecSessions;
  private readonly health: HealthMonitor;
  /** running as root of a user namespace (rootless mode) */
  readonly rootless: boolean;
  /** why containers have no outbound network (rootless without slirp4netns or /dev/net/tun), once init ran */
  egressWarning?: string;
  /** networks whose bridge or rules could not be restored at startup (a subnet taken meanwhile, say) */
  networkWarnings: string[] = [];
  private readonly owned = new Disposables();

  constructor(private readonly opts: EngineOptions) {
    if (!existsSync(opts.helperPath)) {
      throw new EngineError('UNAVAILABLE', `native helper not found at ${opts.helperPath}: run npm install (needs a C compiler)`);
    }
    this.probe = JSON.parse(execFileSync(opts.helperPath, ['probe'], { encoding: 'utf8' }));
    if (this.probe.euid !== 0) {
      throw new EngineError('PERMISSION', 'the engine runs as root, or as root of its own user namespace: start it with `berth daemon`, which sets up rootless mode for a normal user');
    }
    this.rootless = inUserNamespace();
    if (this.rootless && !opts.rootless) {
      throw new EngineError('UNAVAILABLE', 'this engine runs in a user namespace it did not get from `berth daemon`: start it with `berth daemon` (rootless mode)');
    }
    if (!this.probe.overlay) throw new EngineError('UNSUPPORTED', 'the kernel has no overlay filesystem (modprobe overlay)');
    if (!this.probe.openat2) throw new EngineError('UNSUPPORTED', `kernel ${this.probe.kernel} lacks openat2 (5.6 or later is needed)`);
    for (const d of [opts.root, opts.runRoot]) mkdirSync(d, { recursive: true, mode: 0o711 });
    this.images = new LocalImageStore(opts.root);
    this.registry = new RegistryClient({
      credentials: new CredentialStore(opts.authFile ?? defaultAuthFile()),
      insecureRegistries: opts.insecureRegistries,
      mirrors: opts.registryMirrors,
      hub: opts.registryHub,
      userAgent: 'berth/0.1',
    });
    const seams = opts.seams ?? {};
    const store = new ContainerStore(`${opts.root}/containers`);
    this.cgroups = seams.cgroups ?? (this.rootless ? rootlessCgroups(store) : new FsCgroupManager(opts.cgroupParent ?? 'berth'));
    this.helper = seams.helper ?? new NativeHelperClient(opts.helperPath);
    this.seccomp = new SeccompCompiler(`${opts.root}/cache/seccomp`);
    this.cacheMounts = new CacheMounts(`${opts.root}/build-cache`);
    this.builds = new BuildHistory(`${opts.root}/build-history`);
    this.libc = loadLibc();
    this.fs = loadFsAt();
    this.snapshotter = seams.snapshotter ?? new OverlaySnapshotter(`${opts.root}/overlay`, this.libc, { userxattr: this.rootless });
    this.networks = new NetworkService({
      root: opts.root, events: this.events, containers: () => store.all(), resolveContainer: (ref) => store.resolve(ref),
      saveContainer: (r) => store.save(r), helperPath: opts.helperPath, defaultBridge: opts.defaultBridge, defaultBridgeIp: opts.defaultBridgeIp,
      rootlessNetns: opts.rootless?.pausePid, hostAliases: opts.hostAliases,
    });
    this.volumes = new VolumeService(opts.root, this.fs, this.events, () => store.all());
    this.containers = new ContainerService({
      store, images: this.images, snapshotter: this.snapshotter, network: this.networks, volumes: this.volumes,
      cgroups: this.cgroups, helper: this.helper, seccomp: this.seccomp, events: this.events, runRoot: opts.runRoot, fs: this.fs,
      clock: seams.clock ?? systemClock, rootless: this.rootless, idFiles: opts.idFiles, mounts: this.libc,
    });
    this.attacher = new Attacher(this.helper);
    this.execs = new ExecSessions({ container: (ref) => this.containers.get(ref), prepare: (id, o) => this.prepareExec(id, o), events: this.events });
    this.health = new HealthMonitor({
      clock: seams.clock ?? systemClock, events: this.events,
      record: (id) => store.all().find((r) => r.Id === id), save: (r) => store.save(r),
      probe: (id, argv, timeoutMs) => runToEnd(this.prepareExec(id, { Cmd: argv }), timeoutMs, HEALTH_OUTPUT_MAX),
    });
  }

  /** Adopts containers left running by an earlier engine and installs the built-in image. */
  async init(): Promise<void> {
    if (this.opts.rootless) this.egressWarning = (await ensureEgress(this.opts.rootless.pausePid, `${this.opts.runRoot}/slirp4netns.pid`)).warning;
    this.networkWarnings = await this.networks.recoverAll();
    await this.containers.recover();
    for (const r of this.containers.list(true)) this.health.adopt(r);
    if (this.opts.helloPath && existsSync(this.opts.helloPath)) await ensureHelloWorld(this.images, this.opts.helloPath);
  }

  get root(): string {
    return this.opts.root;
  }

  get cgroupMode(): string {
    return this.cgroups.mode;
  }

  /** What limits and pause can do here, and why not when they cannot. */
  get limits(): { supports: LimitSupport; reason?: string } {
    return { supports: this.cgroups.supports, reason: this.cgroups.reason };
  }

  create(opts: ContainerCreateOptions): Promise<ContainerRecord> {
    return this.containers.create(opts);
  }

  start(ref: string, hooks?: StartHooks): Promise<void> {
    return this.containers.start(ref, hooks);
  }

  /** create + start + wait, the engine-level `docker run` without attach. */
  async run(opts: ContainerCreateOptions): Promise<{ id: string; exitCode: number }> {
    const r = await this.create(opts);
    const exited = this.containers.wait(r.Id, 'next-exit');
    try {
      await this.start(r.Id);
    } catch (e) {
      await this.containers.remove(r.Id, { force: true }).catch(() => undefined);
      throw e;
    }
    const { StatusCode } = await exited;
    return { id: r.Id, exitCode: StatusCode };
  }

  wait(ref: string, condition?: WaitCondition, signal?: AbortSignal) {
    return this.containers.wait(ref, condition, signal);
  }

  inspect(ref: string): ContainerRecord {
    return this.containers.get(ref);
  }

  logs(ref: string, opts: LogOptions) {
    const r = this.containers.get(ref);
    if (r.HostConfig.LogConfig?.Type === 'none') throw unsupported('configured logging driver does not support reading');
    return readLogs(`${this.containers.containerDir(r.Id)}/container.log`, opts, () => this.containers.get(r.Id).State.Running);
  }

  /** A raw connection to the container's stdio: Docker stream frames out, stdin in. */
  attach(ref: string, streams: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<Socket> {
    const r = this.containers.get(ref);
    if (!r.runtime) throw notRunning(`container ${r.Id} is not running`);
    return this.attachTo(r.runtime.runDir, streams);
  }

  attachTo(runDir: string, streams: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<Socket> {
    return this.helper.attach(runDir, streams);
  }

  prepareExec(ref: string, opts: ExecOptions): PreparedExec {
    const r = this.containers.get(ref);
    const rootfs = this.snapshotter.mount(r.Id, this.images.get(r.ImageID).layerDirs).rootfs;
    const view = FsView.open(this.fs, rootfs, `container ${r.Name.slice(1)}`);
    let files;
    try {
      files = userFiles(view);
    } finally {
      view.close();
    }
    return prepareExec(r, files, this.cgroups.open(r.Id), this.containers.containerDir(r.Id), this.opts.helperPath, this.seccomp, opts, this.rootless,
      r.HostConfig.UsernsMode === 'private' ? this.containers.remap() : undefined);
  }

  /** Exec with plain pipes; terminals go through ExecSessions. */
  exec(ref: string, opts: ExecOptions): ChildProcess {
    const p = this.prepareExec(ref, opts);
    this.events.emit('container', 'exec_start', this.containers.get(ref).Id, { execID: opts.Cmd.join(' ') });
    return spawnExecPipes(p);
  }

  /** Where the live graphs read a running container's counters (see stats/usageProbe.ts). */
  usageTarget(id: string): { files: UsageFiles; pid: number } | undefined {
    if (!this.containers.exists(id)) return undefined;
    const r = this.containers.get(id);
    return r.State.Running ? { files: this.cgroups.open(r.Id).usageFiles(), pid: r.State.Pid } : undefined;
  }

  async stats(ref: string) {
    const r = this.containers.get(ref);
    if (!r.State.Running) throw notRunning(`container ${r.Id} is not running`);
    return readStats(this.cgroups.open(r.Id), r.State.Pid);
  }

  /**
   * A build's container: its writable layer is never synced to disk (see Snapshotter.volatile).
   * What it changes becomes a layer written and synced apart, or is thrown away; without this
   * each unmount would sync the whole file system the engine's root is on.
   */
  volatileRootfs(id: string): void {
    this.snapshotter.volatile(this.containers.get(id).Id);
  }

  /** The container's rootfs, mounted if it is not (a stopped container keeps it until removal). */
  private rootfs(ref: string) {
    const r = this.containers.get(ref);
    const lowers = this.images.get(r.ImageID).layerDirs;
    return { ...this.snapshotter.mount(r.Id, lowers), lowers, id: r.Id };
  }

  /**
   * The file tree `docker cp` works on, as dockerd shows it for running and stopped containers
   * alike: the container's rootfs with its volumes, binds and the engine's /etc files mapped in
   * at their destinations (tmpfs mounts have no files outside the container).
   */
  private copyView(ref: string): { view: FsView; id: string } {
    const r = this.containers.get(ref);
    const f = this.rootfs(ref);
    const dir = this.containers.containerDir(r.Id);
    const own = ['hostname', 'hosts', 'resolv.conf'].map((n) => ({ destination: `/etc/${n}`, source: `${dir}/${n}`, readOnly: false }));
    const mounts = (r.Mounts ?? []).filter((m) => m.Type !== 'tmpfs' && m.Source).map((m) => ({ destination: m.Destination, source: m.Source, readOnly: !m.RW }));
    const view = FsView.open(this.fs, f.rootfs, `container ${r.Name.slice(1)}`, { mounts: [...own, ...mounts], readOnlyRoot: !!r.HostConfig.ReadonlyRootfs });
    return { view, id: r.Id };
  }

  /**
   * The container's changes (its overlay upper dir) as a stored layer, or undefined when it
   * changed nothing. The engine's own mount targets (/proc, /etc/hosts, …) stay out.
   */
  async commitLayer(ref: string, opts: { pause?: boolean; adopt?: boolean; clampMtime?: number } = {}): Promise<LayerRecord | undefined> {
    const r = this.containers.get(ref);
    const f = this.rootfs(ref);
    const freeze = opts.pause !== false && r.State.Running && !r.State.Paused;
    // A stopped step container's upper dir can become the layer as it is (no copy), once unmounted;
    // not when the tar's mtimes are clamped, which the directory's are not.
    const adopt = !!opts.adopt && !r.State.Running && opts.clampMtime === undefined;
    if (adopt) this.snapshotter.unmount(r.Id);
    if (freeze) await this.cgroups.open(r.Id).freeze();
    const skipped: string[] = [];
    const names: string[] = [];
    let fileBytes = 0;
    let blob: { digest: string; size: number };
    try {
      const upperFd = this.fs.openat(AT.FDCWD, f.upper, O.RDONLY | O.DIRECTORY);
      try {
        const stat = this.fs.statat(upperFd, '', AT.EMPTY_PATH);
        const opaqueXattr = this.rootless ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
        // A mount target the engine made (absent from the image) is no change of the container's.
        const skip = (path: string, st: StatAt) => {
          const own = ENGINE_TARGETS.has(path) && !inLowers(this.fs, f.lowers, path.slice(1)) && (isDir(st) || st.size === 0);
          if (own) skipped.push(path);
          return own;
        };
        const onEntry = (name: string, size: number) => {
          if (names.length < 2) names.push(name);
          fileBytes += size;
        };
        const chunks = tarChunks(this.fs, null, { fd: upperFd, path: '/', stat, readOnly: false }, '', { layer: { opaqueXattr, skip, onEntry }, clampMtime: opts.clampMtime });
        blob = await this.images.content.write(Readable.from(coalesce(chunks, 1 << 20)));
      } finally {
        this.fs.close(upperFd);
      }
    } finally {
      if (freeze) await this.cgroups.open(r.Id).thaw();
    }
    // /etc alone, copied up only because the engine's files were made in it, is no change.
    if (!names.some((n) => n !== 'etc/')) {
      if (!this.images.layerForBlob(blob.digest)) this.images.content.delete(blob.digest);
      return undefined;
    }
    if (!adopt) {
      const mediaType = this.images.mediaTypeOf(blob.digest);
      this.images.pin([blob.digest]);
      try {
        return await this.images.unpackBlob({ ...blob, mediaType }, blob.digest, `commit of ${r.Name.slice(1)}`);
      } finally {
        this.images.unpin([blob.digest]);
      }
    }
    // The upper dir must hold exactly what the tar does: the engine's mount stubs go first.
    for (const p of skipped) removeStubs(this.fs, f.upper, f.lowers, p);
    return this.images.adoptLayer(f.upper, blob, fileBytes);
  }

  /** Stores an image config on top of a parent image (a build step or a commit) and names it. */
  async storeImage(config: ImageConfig, opts: { parent?: string; buildKey?: string; tags?: string[] } = {}): Promise<Image> {
    const id = await this.images.content.put(Buffer.from(JSON.stringify(config)));
    const img = this.images.register(id, { parent: opts.parent, buildKey: opts.buildKey, tags: opts.tags });
    for (const t of opts.tags ?? []) this.events.emit('image', 'tag', id, { name: t });
    return img;
  }

  /** `docker commit`: the container's changes as a new image on top of its image. */
  async commit(ref: string, opts: CommitOptions = {}): Promise<string> {
    const r = this.containers.get(ref);
    if (r.State.Dead) throw conflict(`You cannot commit container ${r.Id} which is Dead`);
    const base = this.images.get(r.ImageID);
    const tag = opts.repo ? `${opts.repo}${opts.tag ? `:${opts.tag}` : ''}` : undefined;
    if (!opts.repo && opts.tag) throw invalid('a tag needs a repository name (repo)');
    if (tag) normalizeName(tag);
    const changed = applyChanges(opts.config ? { ...containerRuntimeConfig(r), ...opts.config } : containerRuntimeConfig(r), opts.changes ?? []);
    const layer = await this.commitLayer(ref, { pause: opts.pause });
    const created = new Date().toISOString();
    const config: ImageConfig = {
      ...base.config,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: changed,
      rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, ...(layer ? [layer.diffId] : [])] },
      history: [...(base.config.history ?? []), {
        created, created_by: [r.Path, ...r.Args].join(' '), ...(opts.author ? { author: opts.author } : {}),
        ...(opts.comment ? { comment: opts.comment } : {}), ...(layer ? {} : { empty_layer: true }),
      }],
    };
    delete (config as { container_config?: unknown }).container_config;
    const img = await this.storeImage(config, { parent: base.id, tags: tag ? [tag] : [] });
    this.events.emit('container', 'commit', r.Id, { comment: opts.comment ?? '', imageID: img.id, imageRef: tag ?? '', name: r.Name.slice(1) });
    return img.id;
  }

  /** A container's own rootfs (no volumes or engine files), for the builder's file steps. */
  rootfsView(ref: string): FsView {
    const f = this.rootfs(ref);
    return FsView.open(this.fs, f.rootfs, `container ${f.id.slice(0, 12)}`);
  }

  /** Extracts a tar into a directory of the engine's (a build's bind source copy), confined to it. */
  async extractIntoDir(dir: string, tar: AsyncIterable<Buffer>): Promise<void> {
    const view = FsView.open(this.fs, dir, 'a build mount');
    try {
      await extractInto(this.fs, view, '/', tar);
    } finally {
      view.close();
    }
  }

  /** Removes the empty mount points a build step's mounts left in its container's upper dir. */
  removeMountStubs(ref: string, targets: string[]): void {
    const f = this.rootfs(ref);
    for (const t of targets) removeStubs(this.fs, f.upper, f.lowers, t);
  }

  get fsAt(): FsAt {
    return this.fs;
  }

  /** `docker diff`: what the container changed against its image. */
  changes(ref: string): Change[] {
    const f = this.rootfs(ref);
    return changes(this.fs, f.upper, f.lowers);
  }

  /** `docker export`: the container's whole filesystem (its rootfs, without volumes) as tar. */
  exportContainer(ref: string): Readable {
    const f = this.rootfs(ref);
    const view = FsView.open(this.fs, f.rootfs, `container ${f.id.slice(0, 12)}`);
    let root;
    try {
      root = view.lookup('/', true);
    } catch (e) {
      view.close();
      throw e;
    }
    const tar = tarFromView(this.fs, null, root, '');
    tar.once('close', () => {
      this.fs.close(root.fd);
      view.close();
    });
    this.events.emit('container', 'export', f.id);
    return tar;
  }

  /** `docker cp` out, HEAD: the stat of a path. */
  archiveStat(ref: string, path: string): PathStat {
    const { view } = this.copyView(ref);
    try {
      const { entry, stat } = lookupForCopy(this.fs, view, path);
      this.fs.close(entry.fd);
      return stat;
    } finally {
      view.close();
    }
  }

  /** `docker cp` out: stat of the path, and a tar of it named by its last component. */
  archiveGet(ref: string, path: string): { stat: PathStat; tar: Readable } {
    return archiveOut(this.fs, this.copyView(ref).view, path);
  }

  /** `docker cp` in: a tar extracted into a directory of the container. */
  async archivePut(ref: string, dir: string, tar: AsyncIterable<Buffer>): Promise<void> {
    const { view, id } = this.copyView(ref);
    try {
      await extractInto(this.fs, view, dir, tar);
    } finally {
      view.close();
    }
    this.events.emit('container', 'extract-to-dir', id);
  }

  importImage(tar: Readable, opts: ImportOptions): Promise<Image> {
    return this.images.importRootfs(tar, opts).then((img) => {
      this.events.emit('image', 'import', img.id, { name: opts.ref ?? '' });
      return img;
    });
  }

  async pull(ref: string, opts: PullOptions = {}): Promise<Image> {
    const img = await pullImage(this.images, this.registry, ref, opts);
    this.events.emit('image', 'pull', ref, { name: ref });
    return img;
  }

  /** Every tag of a repository (`docker pull -a`). */
  async pullAllTags(repo: string, opts: PullOptions = {}): Promise<Image[]> {
    const images = await pullAllTags(this.images, this.registry, repo, opts);
    this.events.emit('image', 'pull', repo, { name: repo });
    return images;
  }

  async push(ref: string, opts: PushOptions = {}): Promise<PushResult> {
    const r = await pushImage(this.images, this.registry, ref, opts);
    this.events.emit('image', 'push', ref, { name: ref });
    return r;
  }

  /** Checks credentials with the registry and saves them (docker login). */
  async login(server: string, username: string, password: string): Promise<void> {
    const domain = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^index\.docker\.io$/, 'docker.io');
    await this.registry.login(domain, { username, password });
    this.registry.credentials.set(domain, { username, password });
  }

  logout(server: string): boolean {
    return this.registry.credentials.remove(server.replace(/^https?:\/\//, '').replace(/\/.*$/, ''));
  }

  tagImage(source: string, target: string): void {
    this.images.tag(source, target);
    this.events.emit('image', 'tag', this.images.resolveId(source), { name: target });
  }

  saveImages(refs: string[]): Readable {
    const out = saveImages(this.images, refs);
    this.events.emit('image', 'save', refs.join(','), {});
    return out;
  }

  async loadImages(input: Readable | string): Promise<LoadResult> {
    const r = typeof input === 'string' ? await loadOciLayout(this.images, input) : await loadImages(this.images, input);
    for (const img of r.images) this.events.emit('image', 'load', img.id, { name: img.tags[0] ?? '' });
    return r;
  }

  listImages(opts: { all?: boolean; sharedSize?: boolean } = {}) {
    const counts = new Map<string, number>();
    for (const c of this.containers.list(true)) counts.set(c.ImageID, (counts.get(c.ImageID) ?? 0) + 1);
    const all = this.images.list();
    // Untagged build steps under another image are listed only with all=1, as Docker does.
    const parents = new Set(all.map((i) => i.parent).filter(Boolean));
    const shown = opts.all ? all : all.filter((i) => i.repoTags.length || i.repoDigests.length || !parents.has(i.id));
    return imageSummaries(shown, (id) => counts.get(id) ?? 0, opts.sharedSize ?? true);
  }

  inspectImage(ref: string) {
    return imageInspect(this.images, this.images.get(ref));
  }

  imageHistory(ref: string) {
    const img = this.images.get(ref);
    const chain: Image[] = [];
    for (let p = img.parent; p && chain.length < 1000; ) {
      const parent = this.images.get(p);
      chain.push(parent);
      p = parent.parent;
    }
    return imageHistory(img, chain);
  }

  /** Unpacked size of every layer some image uses, by diff id. */
  private layerSizes(images = this.images.list()): Map<string, number> {
    return new Map(images.flatMap((i) => i.layers.map((l) => [l.diffId, l.size] as const)));
  }

  private layerBytes(): number {
    return [...this.layerSizes().values()].reduce((s, n) => s + n, 0);
  }

  /** Deletes dangling images (no name), or with `all` every image no container uses. */
  pruneImages(opts: { all?: boolean; matches?: (img: { created?: string; labels: Record<string, string> }) => boolean } = {}) {
    const deleted: { Untagged?: string; Deleted?: string }[] = [];
    const before = this.layerBytes();
    const all = this.images.list();
    const parents = new Set(all.map((i) => i.parent).filter(Boolean));
    // Leaves first: a build step goes with the image on top of it (remove deletes the chain).
    for (const img of all) {
      if (parents.has(img.id) || !this.images.record(img.id)) continue;
      if (this.containers.imageInUse(img.id)) continue;
      if (!opts.all && img.repoTags.length) continue;
      if (opts.matches && !opts.matches({ created: img.config.created, labels: img.config.config.Labels ?? {} })) continue;
      const r = this.images.remove(img.id, { force: true, inUse: (id) => this.containers.imageInUse(id) });
      for (const name of r.untagged) deleted.push({ Untagged: name });
      for (const id of r.deleted) {
        deleted.push({ Deleted: id });
        this.events.emit('image', 'delete', id);
      }
    }
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: before - this.layerBytes() };
  }

  /** The image part of `docker system df`. */
  imageDiskUsage() {
    const all = this.images.list();
    const images = this.listImages({ sharedSize: true });
    const layers = this.layerSizes(all);
    const used = new Set(this.containers.list(true).map((c) => c.ImageID));
    const usedLayers = new Set(all.filter((i) => used.has(i.id)).flatMap((i) => i.layers.map((l) => l.diffId)));
    const total = [...layers.values()].reduce((s, n) => s + n, 0);
    const reclaimable = [...layers].filter(([d]) => !usedLayers.has(d)).reduce((s, [, n]) => s + n, 0);
    return { LayersSize: total, Images: images, active: images.filter((i) => i.Containers > 0).length, reclaimable };
  }

  /** Untags or deletes an image; refuses one a container uses unless forced. */
  removeImage(ref: string, opts: { force?: boolean } = {}) {
    const result = this.images.remove(ref, { force: opts.force, inUse: (id) => this.containers.imageInUse(id) });
    for (const name of result.untagged) this.events.emit('image', 'untag', name);
    for (const id of result.deleted) this.events.emit('image', 'delete', id);
    return result;
  }

  /** Stops watching containers; they keep running in their shims. */
  /** Runs fn when the engine closes (what is built over it, such as its backend, goes with it). */
  onClose(fn: () => void): void {
    this.owned.add(fn);
  }

  close(): void {
    this.owned.dispose();
    this.execs.dispose();
    this.health.dispose();
    this.containers.close();
    this.networks.close();
    this.helper.close();
    void this.images.close();
  }

  /** Test and uninstall helper: removes the parent cgroup once every container is gone. */
  removeCgroupParent(): void {
    this.cgroups.removeParent();
  }
}

export async function createEngine(opts: EngineOptions): Promise<Engine> {
  const engine = new Engine(opts);
  await engine.init();
  return engine;
}
