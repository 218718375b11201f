// Container lifecycle: create, start, stop, kill, restart, pause, wait, remove, and the
// re-adoption of running containers after an engine restart.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ContainerUpdate } from '../../../common/docker.ts';
import type { ContainerCreateOptions, EndpointConfig, HostConfig } from '../../../common/models.ts';
import type { CgroupLimits, CgroupManager } from '../cgroups/cgroupManager.ts';
import { conflict, EngineError, invalid, isEngineError, notFound, notRunning } from '../errors.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { ImageStore } from '../images/imageStore.ts';
import type { Snapshotter } from '../layers/snapshotter.ts';
import type { ContainerNetwork } from '../network/containerNetwork.ts';
import { isoTime, type Clock } from '../clock.ts';
import type { VolumeService } from '../volumes/volumeService.ts';
import { procStarttime } from '../sys/proc.ts';
import type { FsAt } from '../sys/fsat.ts';
import { failureExitCode, type ExitInfo, type HelperClient } from '../runtime/helperClient.ts';
import { compilePlan } from '../runtime/planCompiler.ts';
import type { SeccompCompiler } from '../runtime/seccomp/compiler.ts';
import { initialState, type ContainerRecord } from './containerRecord.ts';
import type { ContainerStore } from './containerStore.ts';
import { mergeConfig, validateHostConfig } from './createOptions.ts';
import { generateName, validateName } from './names.ts';
import { parseSignal } from './signals.ts';
import { linkAlias } from '../../../common/grammar/index.ts';
import { buildSpec, deviceRules, specDevices } from './specBuilder.ts';
import { releaseShm, resolveNamespaces, type MountCalls } from './namespaces.ts';
import { discardUnsupported } from '../cgroups/limitSupport.ts';
import { remapRange, type IdFiles } from '../runtime/remap.ts';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ServiceDeps {
  store: ContainerStore;
  images: ImageStore;
  snapshotter: Snapshotter;
  cgroups: CgroupManager;
  helper: HelperClient;
  seccomp: SeccompCompiler;
  events: EventBus;
  runRoot: string;
  network: ContainerNetwork;
  clock: Clock;
  volumes: VolumeService;
  fs: FsAt;
  /** the engine runs as root of a user namespace (rootless mode) */
  rootless?: boolean;
  /** where --userns=private's range is registered (default /etc/subuid and /etc/subgid) */
  idFiles?: IdFiles;
  /** mount(2) in the engine's namespace, for shareable IPC's /dev/shm (absent: refused) */
  mounts?: MountCalls;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (r: { StatusCode: number; Error?: { Message: string } }) => void;
}

export interface StartHooks {
  /** runs after the process is created and before it execs (attach, networking) */
  beforeExec?: (runDir: string) => Promise<void>;
}

/** What `docker update` may change (Docker's UpdateConfig: Resources and RestartPolicy). */
const UPDATABLE = ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'RestartPolicy'] as const;
export type { ContainerUpdate };

/** Config.MacAddress (clients before API 1.44, docker-py) applies to the container's first network. */
function withLegacyMac(opts: ContainerCreateOptions): Record<string, EndpointConfig | null> | undefined {
  const endpoints = opts.NetworkingConfig?.EndpointsConfig ?? undefined;
  if (!opts.MacAddress) return endpoints;
  const mode = opts.HostConfig?.NetworkMode || 'default';
  const key = endpoints && Object.keys(endpoints).length ? Object.keys(endpoints)[0] : mode;
  return { ...endpoints, [key]: { ...endpoints?.[key], MacAddress: endpoints?.[key]?.MacAddress || opts.MacAddress } };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function limitsOf(h: ContainerRecord['HostConfig']): CgroupLimits {
  const period = h.CpuPeriod || 100000;
  return {
    memory: h.Memory || undefined,
    memorySwap: h.MemorySwap || undefined,
    cpuQuota: h.NanoCpus ? Math.round((h.NanoCpus * period) / 1e9) : h.CpuQuota || undefined,
    cpuPeriod: h.NanoCpus || h.CpuQuota ? period : undefined,
    cpuShares: h.CpuShares || undefined,
    cpusetCpus: h.CpusetCpus || undefined,
    cpusetMems: h.CpusetMems || undefined,
    pidsLimit: h.PidsLimit && h.PidsLimit > 0 ? h.PidsLimit : undefined,
    cpuRtRuntime: h.CpuRealtimeRuntime || undefined,
    cpuRtPeriod: h.CpuRealtimePeriod || undefined,
  };
}

export class ContainerService {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly restartTimers = new Map<string, () => void>();
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly cleanups = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly d: ServiceDeps) {}

  get(ref: string): ContainerRecord {
    return this.d.store.resolve(ref);
  }

  list(all = false): ContainerRecord[] {
    return this.d.store.all().filter((r) => all || r.State.Running).sort((a, b) => b.Created.localeCompare(a.Created));
  }

  private attrs(r: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...r.Config.Labels, image: r.Config.Image, name: r.Name.slice(1), ...extra };
  }

  /** One lifecycle operation at a time per container. */
  private async serialize<T>(id: string, op: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(op);
    this.busy.set(id, next);
    try {
      return await next;
    } finally {
      if (this.busy.get(id) === next) this.busy.delete(id);
    }
  }

  /** The host ids of --userns=private containers. */
  remap(): { start: number; count: number } {
    return remapRange(this.d.idFiles);
  }

  /** The warnings create gives for these settings: the limits this host cannot enforce. */
  createWarnings(h: HostConfig | undefined): string[] {
    return discardUnsupported({ ...validateHostConfig(h ?? {}) }, this.d.cgroups.supports);
  }

  async create(opts: ContainerCreateOptions): Promise<ContainerRecord> {
    if (!opts || typeof opts.Image !== 'string' || !opts.Image) throw invalid('image is required');
    if (this.d.rootless && opts.HostConfig?.UsernsMode === 'private') {
      throw invalid('--userns=private is not supported in rootless mode: the engine already runs in a user namespace with your subordinate ids');
    }
    const image = this.d.images.get(opts.Image);
    const name = opts.name ? validateName(opts.name) : generateName((n) => !!this.d.store.byName(n));
    const id = this.d.store.newId();
    this.d.store.claimName(name, id);
    const hostConfig = validateHostConfig(opts.HostConfig ?? {});
    discardUnsupported(hostConfig, this.d.cgroups.supports);
    const { config, path, args } = mergeConfig(opts, image, id.slice(0, 12));
    const hasPorts = Object.keys(hostConfig.PortBindings ?? {}).length > 0 || !!hostConfig.PublishAllPorts;
    const net = this.d.network.settingsFor(hostConfig.NetworkMode ?? 'bridge', withLegacyMac(opts), hasPorts);
    hostConfig.NetworkMode = net.mode;
    const mounts = this.d.volumes.resolveMounts(hostConfig, Object.keys(config.Volumes ?? {}), (ref) => this.get(ref));
    const record: ContainerRecord = {
      Id: id, Name: `/${name}`, Created: isoTime(this.d.clock), Path: path, Args: args, Image: image.id,
      ImageID: image.id, Config: config, HostConfig: hostConfig, State: initialState(), RestartCount: 0,
      NetworkSettings: net.settings, Mounts: mounts,
    };
    this.d.store.save(record);
    this.d.events.emit('container', 'create', id, this.attrs(record));
    return record;
  }

  start(ref: string, hooks: StartHooks = {}): Promise<void> {
    const r = this.get(ref);
    return this.serialize(r.Id, () => this.startLocked(r, hooks, false)).catch(async (e) => {
      // As dockerd does: an AutoRemove container whose start failed is removed (`run --rm` waits for that).
      if (r.HostConfig.AutoRemove && !r.State.Running) await this.remove(r.Id, { force: true }).catch(() => undefined);
      throw e;
    });
  }

  private async startLocked(r: ContainerRecord, hooks: StartHooks, restarting: boolean): Promise<void> {
    if (r.State.Paused) throw conflict(`cannot start a paused container, try unpause instead`);
    if (r.State.Running) throw new EngineError('NOT_MODIFIED', `container ${r.Name.slice(1)} is already running`);
    await this.cleanups.get(r.Id);
    const dir = this.d.store.containerDir(r.Id);
    const runDir = this.runDirOf(r);
    r.starting = isoTime(this.d.clock);
    this.d.store.save(r);
    let cgroup;
    let networked = false;
    try {
      const image = this.d.images.get(r.ImageID);
      const snap = this.d.snapshotter.mount(r.Id, image.layerDirs);
      rmSync(runDir, { recursive: true, force: true });
      mkdirSync(runDir, { recursive: true, mode: 0o700 });
      rmSync(`${dir}/exit.json`, { force: true });
      this.d.volumes.prepareForStart(r.Mounts ?? [], snap.rootfs);
      const net = await this.d.network.prepare(r);
      networked = true;
      writeFileSync(`${dir}/hostname`, `${r.Config.Hostname}\n`);
      writeFileSync(`${dir}/hosts`, net.hosts);
      writeFileSync(`${dir}/resolv.conf`, net.resolvConf);
      const namespaces = resolveNamespaces(r, runDir, (ref) => this.d.store.resolve(ref), this.d.mounts);
      // A start the engine died in may have left the cgroup (and a parked process in it).
      await this.d.cgroups.open(r.Id).destroy().catch(() => undefined);
      const devices = specDevices(r.HostConfig);
      cgroup = this.d.cgroups.create(r.Id, { ...limitsOf(r.HostConfig), deviceRules: deviceRules(r.HostConfig, devices) });
      const startNow = !hooks.beforeExec && !net.needsSetup;
      const spec = buildSpec({
        namespaces, devices,
        record: r, rootfs: snap.rootfs, cgroup, containerDir: dir, runDir, cgroupMode: this.d.cgroups.mode,
        seccomp: this.d.seccomp, startNow, netns: net.netns, extraEnv: net.env, fs: this.d.fs, rootless: !!this.d.rootless,
        remap: r.HostConfig.UsernsMode === 'private' ? remapRange(this.d.idFiles) : undefined,
      });
      const shim = await this.d.helper.spawnShim(compilePlan(spec), `${dir}/shim.log`);
      r.runtime = { pid: shim.pid, starttime: shim.starttime, runDir };
      if (net.needsSetup) await this.d.network.setup(r, shim.pid);
      if (hooks.beforeExec) await hooks.beforeExec(runDir);
      if (!startNow) await this.d.helper.ctl(runDir, 'start');
      else await shim.started;
    } catch (e) {
      if (networked) await this.d.network.release(r).catch(() => undefined);
      await this.cleanupAfterFailure(r, runDir, cgroup !== undefined);
      const err = isEngineError(e) ? e : new EngineError('INTERNAL', `start ${r.Name.slice(1)}: ${(e as Error).message}`, { cause: e });
      r.State = { ...r.State, Error: err.message, ExitCode: failureExitCode(err.stage, err.errno) };
      r.starting = undefined;
      this.d.store.save(r);
      throw err;
    }
    const now = isoTime(this.d.clock);
    r.State = { ...initialState(), Status: 'running', Running: true, Pid: r.runtime.pid, StartedAt: now, FinishedAt: r.State.FinishedAt };
    r.stoppedByUser = false;
    r.starting = undefined;
    this.d.store.save(r);
    this.d.events.emit('container', restarting ? 'restart' : 'start', r.Id, this.attrs(r));
    this.watchExit(r, r.runtime.runDir);
  }

  private async cleanupAfterFailure(r: ContainerRecord, runDir: string, hadCgroup: boolean): Promise<void> {
    if (r.runtime) {
      try {
        process.kill(r.runtime.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    r.runtime = undefined;
    if (hadCgroup) await this.d.cgroups.open(r.Id).destroy().catch(() => undefined);
    try {
      this.d.snapshotter.unmount(r.Id);
    } catch {
      /* reported by the next start */
    }
    releaseShm(runDir, this.d.mounts);
    rmSync(runDir, { recursive: true, force: true });
  }

  private watchExit(r: ContainerRecord, runDir: string): void {
    void this.d.helper.watch(runDir).then((info) => {
      if (this.closed) return;
      this.onExit(r.Id, info ?? this.readExitFile(r.Id));
    });
  }

  private readExitFile(id: string): ExitInfo | undefined {
    try {
      return JSON.parse(readFileSync(`${this.d.store.containerDir(id)}/exit.json`, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Records the exit at once (waiters see it), then cleans up; start and remove await that. */
  private onExit(id: string, info: ExitInfo | undefined): Promise<void> {
    let r: ContainerRecord;
    try {
      r = this.d.store.resolve(id);
    } catch {
      return Promise.resolve();
    }
    if (!r.runtime) return Promise.resolve();
    const runDir = r.runtime.runDir;
    const code = info?.code ?? 255;
    r.runtime = undefined;
    r.State = {
      ...r.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: code,
      OOMKilled: !!info?.oom, FinishedAt: info?.finishedAt ?? isoTime(this.d.clock),
      Error: info ? '' : 'container shim disappeared; exit status unknown',
    };
    this.d.store.save(r);
    const cleanup = (async () => {
      await this.d.network.release(r).catch(() => undefined);
      if (this.d.store.all().includes(r)) this.d.store.save(r);
      await this.d.cgroups.open(r.Id).destroy().catch(() => undefined);
      try {
        this.d.snapshotter.unmount(r.Id);
      } catch {
        /* unmounted at removal */
      }
      releaseShm(runDir, this.d.mounts);
      rmSync(runDir, { recursive: true, force: true });
    })();
    this.cleanups.set(r.Id, cleanup);
    void cleanup.finally(() => {
      if (this.cleanups.get(r.Id) === cleanup) this.cleanups.delete(r.Id);
    });
    if (info?.oom) this.d.events.emit('container', 'oom', r.Id, this.attrs(r));
    this.d.events.emit('container', 'die', r.Id, this.attrs(r, { exitCode: String(code) }));
    this.resolveWaiters(r.Id, ['not-running', 'next-exit'], { StatusCode: code });
    return cleanup.then(async () => {
      if (r.HostConfig.AutoRemove) await this.serialize(r.Id, () => this.removeLocked(r, true)).catch(() => undefined);
      else this.maybeRestart(r, code);
    });
  }

  private maybeRestart(r: ContainerRecord, code: number): void {
    const policy = r.HostConfig.RestartPolicy ?? { Name: 'no' };
    const want = !r.stoppedByUser && (policy.Name === 'always' || policy.Name === 'unless-stopped' ||
      (policy.Name === 'on-failure' && code !== 0 && (!policy.MaximumRetryCount || r.RestartCount < policy.MaximumRetryCount)));
    if (!want || this.closed) return;
    const ranFor = Date.parse(r.State.FinishedAt) - Date.parse(r.State.StartedAt);
    // Docker doubles the delay from 100 ms while a container keeps failing fast.
    const delay = ranFor > 10_000 ? 100 : Math.min(100 * 2 ** Math.min(r.RestartCount, 9), 60_000);
    r.State = { ...r.State, Status: 'restarting', Restarting: true };
    this.d.store.save(r);
    const cancel = this.d.clock.timer(delay, () => {
      this.restartTimers.delete(r.Id);
      void this.serialize(r.Id, async () => {
        const cur = this.d.store.all().find((x) => x.Id === r.Id);
        if (!cur || !cur.State.Restarting || cur.stoppedByUser) return;
        cur.RestartCount++;
        cur.State = { ...cur.State, Restarting: false, Status: 'exited' };
        await this.startLocked(cur, {}, true).catch(() => this.maybeRestart(cur, cur.State.ExitCode));
      });
    });
    this.restartTimers.set(r.Id, cancel);
  }

  private cancelRestart(r: ContainerRecord): void {
    this.restartTimers.get(r.Id)?.();
    this.restartTimers.delete(r.Id);
    if (r.State.Restarting) r.State = { ...r.State, Restarting: false, Status: 'exited' };
  }

  private resolveWaiters(id: string, conditions: WaitCondition[], result: { StatusCode: number }): void {
    const list = this.waiters.get(id) ?? [];
    const keep = list.filter((w) => {
      if (!conditions.includes(w.condition)) return true;
      w.resolve(result);
      return false;
    });
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  /** Resolves with the exit code; `next-exit` and `removed` wait even if not running now. */
  wait(ref: string, condition: WaitCondition = 'not-running', signal?: AbortSignal): Promise<{ StatusCode: number; Error?: { Message: string } }> {
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    const r = this.get(ref);
    if (condition === 'not-running' && !r.State.Running && !r.State.Restarting) return Promise.resolve({ StatusCode: r.State.ExitCode });
    return new Promise((resolve) => {
      const w: Waiter = { condition, resolve };
      this.waiters.set(r.Id, [...(this.waiters.get(r.Id) ?? []), w]);
      signal?.addEventListener('abort', () => {
        this.waiters.set(r.Id, (this.waiters.get(r.Id) ?? []).filter((x) => x !== w));
      });
    });
  }

  async kill(ref: string, sig?: string | number): Promise<void> {
    const r = this.get(ref);
    const signo = parseSignal(sig);
    if (!r.State.Running || !r.runtime) throw notRunning(`cannot kill container: ${ref}: container ${r.Id} is not running`);
    // As in dockerd, SIGKILL returns once the exit is recorded: clients inspect right after.
    const exited = signo === 9 ? this.waitExitUnlocked(r.Id) : undefined;
    if (signo === 9) {
      // A killed container is not restarted by its policy (dockerd: manually stopped).
      r.stoppedByUser = true;
      this.d.store.save(r);
    }
    if (r.State.Paused && signo === 9) await this.d.cgroups.open(r.Id).thaw().catch(() => undefined);
    await this.signal(r, signo);
    this.d.events.emit('container', 'kill', r.Id, this.attrs(r, { signal: String(signo) }));
    if (exited) await Promise.race([exited, this.d.clock.sleep(10_000)]);
  }

  private async signal(r: ContainerRecord, signo: number): Promise<void> {
    if (!r.runtime) return;
    const { pid, starttime, runDir } = r.runtime;
    try {
      await this.d.helper.ctl(runDir, `kill ${signo}`);
    } catch (e) {
      if (isEngineError(e, 'NOT_RUNNING')) return;
      if (!isEngineError(e, 'UNAVAILABLE')) throw e;
      // The shim closed on us (it is reaping an exit): signal the recorded process directly,
      // unless the pid now belongs to someone else.
      if (procStarttime(pid) !== starttime) return;
      try {
        process.kill(pid, signo);
      } catch {
        /* exited meanwhile */
      }
    }
  }

  stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const r = this.get(ref);
    return this.serialize(r.Id, () => this.stopLocked(r, opts));
  }

  private async stopLocked(r: ContainerRecord, opts: { timeout?: number; signal?: string }): Promise<void> {
    if (!r.State.Running || !r.runtime) {
      this.cancelRestart(r);
      r.stoppedByUser = true;
      this.d.store.save(r);
      throw new EngineError('NOT_MODIFIED', `container ${r.Name.slice(1)} is not running`);
    }
    await this.terminate(r, parseSignal(opts.signal ?? r.Config.StopSignal, 'SIGTERM'), opts.timeout ?? r.Config.StopTimeout ?? 10);
    this.d.events.emit('container', 'stop', r.Id, this.attrs(r));
  }

  /** Sends signo, then SIGKILL after timeout seconds, and waits for the exit; no restart follows. */
  private async terminate(r: ContainerRecord, signo: number, timeout: number): Promise<void> {
    this.cancelRestart(r);
    r.stoppedByUser = true;
    this.d.store.save(r);
    const exited = this.waitExitUnlocked(r.Id);
    if (r.State.Paused) await this.d.cgroups.open(r.Id).thaw().catch(() => undefined);
    await this.signal(r, signo);
    // A timer holds at most 2^31-1 ms (24.8 days): a longer timeout (or -1) waits that long, not 1 ms.
    const wait = timeout < 0 ? MAX_TIMER_MS : Math.min(timeout * 1000, MAX_TIMER_MS);
    const done = await Promise.race([exited.then(() => true), this.d.clock.sleep(wait).then(() => false)]);
    if (!done) {
      await this.signal(r, 9);
      await Promise.race([exited, this.d.clock.sleep(10_000)]);
    }
  }

  /** Waits for the exit without taking the lock (the exit handler needs it). */
  private waitExitUnlocked(id: string): Promise<unknown> {
    return new Promise((resolve) => {
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), { condition: 'next-exit', resolve }]);
    });
  }

  restart(ref: string, opts: { timeout?: number } = {}): Promise<void> {
    const r = this.get(ref);
    return this.serialize(r.Id, async () => {
      if (r.State.Running) await this.stopLocked(r, opts);
      await this.startLocked(r, {}, true);
    });
  }

  async pause(ref: string): Promise<void> {
    const r = this.get(ref);
    if (!r.State.Running) throw conflict(`Container ${r.Id} is not running`);
    if (r.State.Paused) throw conflict(`Container ${r.Id} is already paused`);
    await this.d.cgroups.open(r.Id).freeze();
    r.State = { ...r.State, Paused: true, Status: 'paused' };
    this.d.store.save(r);
    this.d.events.emit('container', 'pause', r.Id, this.attrs(r));
  }

  async unpause(ref: string): Promise<void> {
    const r = this.get(ref);
    if (!r.State.Paused) throw conflict(`Container ${r.Id} is not paused`);
    await this.d.cgroups.open(r.Id).thaw();
    r.State = { ...r.State, Paused: false, Status: 'running' };
    this.d.store.save(r);
    this.d.events.emit('container', 'unpause', r.Id, this.attrs(r));
  }

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const r = this.get(ref);
    if ((r.State.Running || r.State.Restarting) && !opts.force) {
      throw conflict(`cannot remove container "${ref}": container is running: stop the container before removing or force remove`);
    }
    if (r.State.Running && r.runtime) await this.terminate(r, 9, 0);
    await this.serialize(r.Id, () => this.removeLocked(r, !!opts.volumes));
  }

  private async removeLocked(r: ContainerRecord, anonymousVolumes = false): Promise<void> {
    await this.cleanups.get(r.Id);
    if (!this.d.store.all().includes(r)) return;
    this.cancelRestart(r);
    r.State = { ...r.State, Status: 'removing' };
    // Whatever its recorded state, everything of the container goes: processes a crashed start
    // left in its cgroup, the cgroup, its run directory and interfaces, then its layers.
    if (!r.runtime) await this.sweep(r);
    await this.d.snapshotter.remove(r.Id);
    this.d.network.forget(r);
    this.d.store.delete(r.Id);
    if (anonymousVolumes) this.d.volumes.removeAnonymous(r);
    this.d.events.emit('container', 'destroy', r.Id, this.attrs(r));
    this.resolveWaiters(r.Id, ['not-running', 'next-exit', 'removed'], { StatusCode: r.State.ExitCode });
  }

  /** Drops the legacy link PARENT → ALIAS (`docker rm --link`); it is gone from /etc/hosts at the next start. */
  removeLink(parent: string, alias: string): void {
    const r = this.get(parent);
    const keep = (r.HostConfig.Links ?? []).filter((l) => linkAlias(l) !== alias);
    if (keep.length === (r.HostConfig.Links ?? []).length) throw notFound(`No such link: /${r.Name.slice(1)}/${alias}`);
    r.HostConfig = { ...r.HostConfig, Links: keep.length ? keep : null };
    this.d.store.save(r);
  }

  rename(ref: string, newName: string): void {
    const r = this.get(ref);
    const name = validateName(newName);
    this.d.store.claimName(name, r.Id);
    const old = r.Name;
    r.Name = `/${name}`;
    this.d.store.save(r);
    this.d.events.emit('container', 'rename', r.Id, this.attrs(r, { oldName: old }));
  }

  /**
   * `docker update`: resource limits and the restart policy of a container, applied to its cgroup
   * at once when it runs. Nothing changes when a value is refused.
   */
  update(ref: string, u: ContainerUpdate): string[] {
    const r = this.get(ref);
    const next: HostConfig = { ...r.HostConfig };
    for (const k of UPDATABLE) if (u[k] !== undefined && u[k] !== null) (next as Record<string, unknown>)[k] = u[k];
    if (u.NanoCpus) Object.assign(next, { CpuQuota: 0, CpuPeriod: 0 });
    if (u.CpuQuota || u.CpuPeriod) next.NanoCpus = 0;
    if (u.Memory && !u.MemorySwap && r.HostConfig.MemorySwap && r.HostConfig.MemorySwap > 0 && u.Memory > r.HostConfig.MemorySwap) {
      throw invalid('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    if (u.RestartPolicy?.Name && u.RestartPolicy.Name !== 'no' && r.HostConfig.AutoRemove) throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    const checked = validateHostConfig(next);
    const warnings = discardUnsupported(checked, this.d.cgroups.supports);
    if (r.State.Running && r.runtime) {
      try {
        this.d.cgroups.open(r.Id).update(limitsOf(checked));
      } catch (e) {
        if (isEngineError(e)) throw e;
        throw invalid(`Cannot update container ${r.Id}: ${(e as Error).message}`);
      }
    }
    r.HostConfig = checked;
    this.d.store.save(r);
    this.d.events.emit('container', 'update', r.Id, this.attrs(r));
    return warnings;
  }

  async resize(ref: string, rows: number, cols: number): Promise<void> {
    const r = this.get(ref);
    if (!r.runtime) throw notRunning(`container ${r.Id} is not running`);
    await this.d.helper.ctl(r.runtime.runDir, `resize ${rows} ${cols}`);
  }

  /** Re-adopts containers whose shims outlived a previous engine. */
  private runDirOf(r: ContainerRecord): string {
    return `${this.d.runRoot}/${r.Id.slice(0, 16)}`;
  }

  /**
   * What a container not recorded as running may have left when the engine died mid-start or
   * mid-cleanup: a process parked in its cgroup, the cgroup, the root file system's mount, the
   * run directory, host interfaces.
   */
  private async sweep(r: ContainerRecord): Promise<void> {
    await this.d.cgroups.open(r.Id).destroy().catch(() => undefined);
    try {
      this.d.snapshotter.unmount(r.Id);
    } catch {
      /* unmounted at removal */
    }
    const runDir = this.runDirOf(r);
    releaseShm(runDir, this.d.mounts);
    rmSync(runDir, { recursive: true, force: true });
    await this.d.network.release(r).catch(() => undefined);
  }

  async recover(): Promise<void> {
    for (const r of this.d.store.all()) {
      if (!r.runtime) {
        await this.sweep(r);
        if (r.starting || r.State.Running || r.State.Status === 'running') {
          // A start the engine died in (its intent is on record), or a record that says running
          // without a shim: it never got one, or lost it.
          const wasRunning = r.State.Running || r.State.Status === 'running';
          r.State = { ...r.State, Running: false, Pid: 0, Error: 'the engine stopped while this container started' };
          if (wasRunning) r.State = { ...r.State, Status: 'exited', ExitCode: r.State.ExitCode || 255 };
          r.starting = undefined;
          this.d.store.save(r);
        }
        if (r.State.Restarting) this.maybeRestart(r, r.State.ExitCode);
        continue;
      }
      const runDir = r.runtime.runDir;
      let alive: boolean;
      try {
        const state = await this.d.helper.ctl(runDir, 'state');
        alive = state.split(' ')[2] === '0';
      } catch {
        alive = false;
      }
      if (alive) {
        await this.d.network.recover(r);
        this.watchExit(r, runDir);
      }
      else await this.onExit(r.Id, this.readExitFile(r.Id));
    }
  }

  /** Stops watching; containers keep running in their shims. */
  close(): void {
    this.closed = true;
    for (const cancel of this.restartTimers.values()) cancel();
    this.restartTimers.clear();
  }

  exists(ref: string): boolean {
    try {
      this.get(ref);
      return true;
    } catch {
      return false;
    }
  }

  containerDir(id: string): string {
    return this.d.store.containerDir(id);
  }

  imageInUse(imageId: string): boolean {
    return this.d.store.all().some((r) => r.ImageID === imageId);
  }
}
