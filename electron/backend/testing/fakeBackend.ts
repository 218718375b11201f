// An in-memory Backend for unit tests above the engine boundary (the Docker API routers, the
// app's host). It keeps the engine's rules that callers depend on — the lifecycle states, the
// error codes, name and id lookup, events — and passes the same conformance suite as the
// engine (test/conformance/backend.ts). Processes are scripted: `echo …` prints its arguments
// and exits 0, `cat` echoes its stdin until it ends, anything else runs until stopped.
import { randomBytes } from 'node:crypto';
import { Duplex, Readable } from 'node:stream';
import type {
  ContainerInspect, ContainerListItem, EngineEvent, ExecConfig, ExecInspect, ImageInspect, ImageSummary, LogEntry, NetworkView, VolumeView,
} from '../../../common/docker.ts';
import { CodedError } from '../../../common/errors.ts';
import { linkAlias } from '../../../common/grammar/index.ts';
import type { ContainerCreateOptions } from '../../../common/models.ts';
import type { StatsMark, StatsSample } from '../../../common/views.ts';
import type { Backend, StdioStream } from '../backend.ts';

const ZERO = '0001-01-01T00:00:00Z';
const fail = (code: ConstructorParameters<typeof CodedError>[0], message: string) => new CodedError(code, message);
const id64 = () => randomBytes(32).toString('hex');

function frame(n: 1 | 2, d: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = n;
  h.writeUInt32BE(d.length, 4);
  return Buffer.concat([h, d]);
}

interface FakeContainer {
  inspect: ContainerInspect;
  logs: LogEntry[];
}

export interface FakeBackendOptions {
  images?: string[];
}

export class FakeBackend implements Backend {
  private readonly cs = new Map<string, FakeContainer>();
  private readonly imgs = new Map<string, ImageInspect>();
  private readonly nets = new Map<string, NetworkView>();
  private readonly vols = new Map<string, VolumeView>();
  private readonly execs = new Map<string, ExecInspect & { cfg: ExecConfig }>();
  private readonly eventListeners = new Set<(e: EngineEvent) => void>();
  private readonly statListeners = new Set<(s: StatsSample[]) => void>();
  private readonly markListeners = new Set<(m: StatsMark) => void>();
  private readonly history: EngineEvent[] = [];
  private readonly waiters = new Map<string, ((code: number) => void)[]>();
  /** calls made, for tests that check what reached the backend */
  readonly calls: string[] = [];

  constructor(opts: FakeBackendOptions = {}) {
    for (const name of opts.images ?? ['busybox:latest']) this.addImage(name);
    for (const n of ['bridge', 'host', 'none']) this.addNetwork(n, n === 'bridge' ? 'bridge' : n);
  }

  addImage(name: string): ImageInspect {
    const img: ImageInspect = {
      Id: `sha256:${id64()}`, RepoTags: [name.includes(':') ? name : `${name}:latest`], RepoDigests: [], Created: new Date().toISOString(), Size: 1000,
      Architecture: 'amd64', Os: 'linux', Config: { Cmd: ['sh'], Env: ['PATH=/bin'] }, RootFS: { Type: 'layers', Layers: [] },
    };
    this.imgs.set(img.Id, img);
    return img;
  }

  private addNetwork(name: string, driver: string): NetworkView {
    const n: NetworkView = {
      Name: name, Id: id64(), Created: new Date().toISOString(), Scope: 'local', Driver: driver, EnableIPv4: true, EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null, Config: driver === 'bridge' ? [{ Subnet: '172.30.0.0/16', Gateway: '172.30.0.1' }] : [] },
      Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
    };
    this.nets.set(n.Id, n);
    return n;
  }

  emit(type: EngineEvent['Type'], action: string, id: string, attrs: Record<string, string> = {}): void {
    const now = Date.now();
    const e: EngineEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attrs }, scope: 'local', time: Math.floor(now / 1000), timeNano: now * 1e6 };
    this.history.push(e);
    for (const l of this.eventListeners) l(e);
  }

  /** Sends stats samples to subscribers, as the engine's sampler does each second. */
  pushStats(samples: StatsSample[]): void {
    for (const l of this.statListeners) l(samples);
  }

  private container(ref: string): FakeContainer {
    const found = this.cs.get(ref) ?? [...this.cs.values()].find((c) => c.inspect.Name === `/${ref}` || c.inspect.Id.startsWith(ref) && ref.length >= 4);
    if (!found) throw fail('NOT_FOUND', `No such container: ${ref}`);
    return found;
  }

  private image(ref: string): ImageInspect {
    const name = ref.includes(':') || ref.startsWith('sha256:') ? ref : `${ref}:latest`;
    const found = this.imgs.get(ref) ?? [...this.imgs.values()].find((i) => i.RepoTags.includes(name) || i.Id.startsWith(`sha256:${ref}`) || i.Id === ref);
    if (!found) throw fail('NOT_FOUND', `No such image: ${ref}`);
    return found;
  }

  private setState(c: FakeContainer, status: ContainerInspect['State']['Status'], exitCode = 0): void {
    if (status === 'exited') for (const [id, x] of this.execs) if (x.ContainerID === c.inspect.Id) this.execs.delete(id);
    const now = new Date().toISOString();
    const running = status === 'running' || status === 'paused';
    c.inspect.State = { ...c.inspect.State, Status: status, Running: running, Paused: status === 'paused', ExitCode: exitCode, Pid: running ? 4242 : 0,
      ...(status === 'running' && !c.inspect.State.Running ? { StartedAt: now } : {}), ...(status === 'exited' ? { FinishedAt: now } : {}) };
    if (status === 'exited') for (const w of this.waiters.get(c.inspect.Id)?.splice(0) ?? []) w(exitCode);
  }

  readonly containers: Backend['containers'] = {
    list: async (opts = {}) => [...this.cs.values()]
      .filter((c) => opts.all || c.inspect.State.Running)
      .filter((c) => Object.entries(opts.filters ?? {}).every(([k, vals]) => {
        if (k === 'label') return vals.every((v) => (v.includes('=') ? c.inspect.Config.Labels[v.split('=')[0]] === v.slice(v.indexOf('=') + 1) : v in c.inspect.Config.Labels));
        if (k === 'status') return vals.includes(c.inspect.State.Status);
        if (k === 'name') return vals.some((v) => c.inspect.Name.includes(v));
        throw fail('INVALID_ARGUMENT', `invalid filter '${k}'`);
      }))
      .sort((a, b) => b.inspect.Created.localeCompare(a.inspect.Created))
      .slice(0, opts.limit && opts.limit > 0 ? opts.limit : undefined)
      .map((c): ContainerListItem => ({
        Id: c.inspect.Id, Names: [c.inspect.Name], Image: c.inspect.Config.Image, ImageID: c.inspect.Image, Command: [c.inspect.Path, ...c.inspect.Args].join(' '),
        Created: Math.floor(Date.parse(c.inspect.Created) / 1000), Ports: [], Labels: c.inspect.Config.Labels, State: c.inspect.State.Status,
        Status: c.inspect.State.Running ? 'Up' : 'Exited', HostConfig: { NetworkMode: 'bridge' }, NetworkSettings: { Networks: {} }, Mounts: [],
      })),
    inspect: async (ref) => structuredClone(this.container(ref).inspect),
    create: async (o: ContainerCreateOptions) => {
      const img = this.image(o.Image);
      const name = o.name ?? `fake_${randomBytes(3).toString('hex')}`;
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw fail('INVALID_ARGUMENT', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      if ([...this.cs.values()].some((c) => c.inspect.Name === `/${name}`)) throw fail('CONFLICT', `Conflict. The container name "/${name}" is already in use`);
      const id = id64();
      const cmd = o.Cmd ?? (img.Config.Cmd as string[]);
      const inspect: ContainerInspect = {
        Id: id, Created: new Date(Date.now() + this.cs.size).toISOString(), Path: cmd[0], Args: cmd.slice(1), Image: img.Id, Name: `/${name}`, RestartCount: 0, ExecIDs: null,
        State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO, FinishedAt: ZERO },
        HostConfig: { ...(o.HostConfig ?? {}) }, Mounts: [], LogPath: '',
        Config: { Hostname: id.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: !!o.Tty, OpenStdin: !!o.OpenStdin,
          StdinOnce: false, Env: o.Env ?? [], Cmd: cmd, Entrypoint: null, Image: o.Image, WorkingDir: '', Labels: o.Labels ?? {} },
        NetworkSettings: { Ports: {}, SandboxKey: '', IPAddress: '', Gateway: '', MacAddress: '', Networks: {} },
      };
      this.cs.set(id, { inspect, logs: [] });
      this.calls.push(`create ${name}`);
      this.emit('container', 'create', id, { name, image: o.Image });
      return { Id: id, Warnings: [] };
    },
    start: async (ref) => {
      const c = this.container(ref);
      if (c.inspect.State.Running) throw fail('NOT_MODIFIED', `container ${c.inspect.Name.slice(1)} is already running`);
      this.setState(c, 'running');
      this.emit('container', 'start', c.inspect.Id, { name: c.inspect.Name.slice(1) });
      if (c.inspect.Path === 'echo') {
        c.logs.push({ stream: 'stdout', time: new Date().toISOString(), text: `${c.inspect.Args.join(' ')}\n` });
        setImmediate(() => {
          this.setState(c, 'exited', 0);
          this.emit('container', 'die', c.inspect.Id, { exitCode: '0' });
        });
      }
    },
    stop: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Running) throw fail('NOT_MODIFIED', `container ${c.inspect.Name.slice(1)} is not running`);
      this.setState(c, 'exited', 143);
      this.emit('container', 'die', c.inspect.Id, { exitCode: '143' });
      this.emit('container', 'stop', c.inspect.Id);
    },
    restart: async (ref) => {
      const c = this.container(ref);
      if (c.inspect.State.Running) this.setState(c, 'exited', 143);
      this.setState(c, 'running');
      this.emit('container', 'restart', c.inspect.Id);
    },
    kill: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Running) throw fail('CONFLICT', `container ${c.inspect.Id} is not running`);
      this.setState(c, 'exited', 137);
      this.emit('container', 'die', c.inspect.Id, { exitCode: '137' });
    },
    pause: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Running || c.inspect.State.Paused) throw fail('CONFLICT', `container ${c.inspect.Id} is not running or already paused`);
      this.setState(c, 'paused');
      this.emit('container', 'pause', c.inspect.Id);
    },
    unpause: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Paused) throw fail('CONFLICT', `container ${c.inspect.Id} is not paused`);
      this.setState(c, 'running');
      this.emit('container', 'unpause', c.inspect.Id);
    },
    remove: async (ref, opts = {}) => {
      const c = this.container(ref);
      if (c.inspect.State.Running && !opts.force) throw fail('CONFLICT', `cannot remove container ${c.inspect.Name}: container is running: stop the container before removing or force remove`);
      if (c.inspect.State.Running) this.setState(c, 'exited', 137);
      this.cs.delete(c.inspect.Id);
      this.emit('container', 'destroy', c.inspect.Id);
    },
    rename: async (ref, name) => {
      const c = this.container(ref);
      if ([...this.cs.values()].some((x) => x.inspect.Name === `/${name}`)) throw fail('CONFLICT', `Conflict. The container name "/${name}" is already in use`);
      c.inspect.Name = `/${name}`;
      this.emit('container', 'rename', c.inspect.Id);
    },
    removeLink: async (parent, alias) => {
      const h = this.container(parent).inspect.HostConfig;
      const keep = (h.Links ?? []).filter((l) => linkAlias(l) !== alias);
      if (keep.length === (h.Links ?? []).length) throw fail('NOT_FOUND', `No such link: /${parent}/${alias}`);
      h.Links = keep.length ? keep : null;
    },
    update: async (ref, u) => {
      Object.assign(this.container(ref).inspect.HostConfig, u);
      return { Warnings: [] };
    },
    resize: async (ref) => {
      if (!this.container(ref).inspect.State.Running) throw fail('NOT_RUNNING', `container ${ref} is not running`);
    },
    wait: (ref, condition = 'not-running') => {
      const c = this.container(ref);
      if (condition === 'not-running' && !c.inspect.State.Running) return Promise.resolve({ StatusCode: c.inspect.State.ExitCode });
      return new Promise((resolve) => {
        const list = this.waiters.get(c.inspect.Id) ?? [];
        list.push((code) => resolve({ StatusCode: code }));
        this.waiters.set(c.inspect.Id, list);
      });
    },
    prune: async () => {
      const gone = [...this.cs.values()].filter((c) => !c.inspect.State.Running).map((c) => c.inspect.Id);
      for (const id of gone) await this.containers.remove(id);
      return { ContainersDeleted: gone.length ? gone : null, SpaceReclaimed: 0 };
    },
    logs: (ref, opts) => {
      const c = this.container(ref);
      const entries = c.logs.filter((l) => (l.stream === 'stdout' ? opts.stdout !== false : opts.stderr !== false));
      return (async function* () {
        yield* opts.tail !== undefined ? entries.slice(-opts.tail || entries.length) : entries;
      })();
    },
    attach: async (ref, opts) => {
      const c = this.container(ref);
      return this.run(c.inspect.Config.Tty, [c.inspect.Path, ...c.inspect.Args], opts.stdin);
    },
    stats: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Running) throw fail('NOT_RUNNING', `container ${c.inspect.Id} is not running`);
      return {
        read: new Date().toISOString(), oomKills: 0,
        cpu: { totalNs: 1e9, userNs: 5e8, systemNs: 5e8, perCpuNs: [1e9], throttledPeriods: 0, systemNs_host: 1e11, onlineCpus: 2 },
        memory: { usage: 1 << 20, limit: 0, cache: 0, inactiveFile: 0, maxUsage: 1 << 20, stats: {} }, pids: { current: 1, limit: 0 }, blkio: [], networks: {},
      };
    },
    top: async (ref) => {
      const c = this.container(ref);
      if (!c.inspect.State.Running) throw fail('CONFLICT', `container ${c.inspect.Id} is not running`);
      return { Titles: ['PID', 'CMD'], Processes: [['4242', [c.inspect.Path, ...c.inspect.Args].join(' ')]] };
    },
    changes: async (ref) => (this.container(ref), []),
    export: async (ref) => (this.container(ref), Readable.from([Buffer.alloc(1024)])),
    archiveStat: async (ref, path) => (this.container(ref), { name: path.split('/').pop() || '/', size: 0, mode: 0x80000000 | 0o755, mtime: ZERO, linkTarget: '' }),
    archiveGet: async (ref, path) => ({ stat: await this.containers.archiveStat(ref, path), tar: Readable.from([Buffer.alloc(1024)]) }),
    archivePut: async (ref, _dir, tar) => {
      this.container(ref);
      for await (const _ of tar) { /* drained */ }
    },
  };

  /** A scripted process on a stream: `echo` prints and ends, `cat` echoes stdin until it ends. */
  private run(tty: boolean, cmd: string[], stdin: boolean, onEnd?: () => void): StdioStream {
    const out = (d: Buffer) => (tty ? d : frame(1, d));
    const cat = cmd[0] === 'cat';
    const stream: Duplex = new Duplex({
      read() { /* pushed as it comes */ },
      write(chunk: Buffer, _enc, cb) {
        if (stdin && cat) stream.push(out(Buffer.from(chunk)));
        cb();
      },
      final(cb) {
        onEnd?.();
        stream.push(null);
        cb();
      },
    });
    if (cmd[0] === 'echo') stream.push(out(Buffer.from(`${cmd.slice(1).join(' ')}\n`)));
    if (!stdin || !cat) {
      setImmediate(() => {
        onEnd?.();
        stream.push(null);
      });
    }
    return { stream, tty };
  }

  readonly exec: Backend['exec'] = {
    create: async (ref, cfg) => {
      const c = this.container(ref);
      if (!Array.isArray(cfg.Cmd) || !cfg.Cmd.length) throw fail('INVALID_ARGUMENT', 'No exec command specified');
      if (!c.inspect.State.Running) throw fail('CONFLICT', `container ${c.inspect.Id} is not running`);
      const id = id64();
      this.execs.set(id, {
        ID: id, ContainerID: c.inspect.Id, Running: false, ExitCode: null, Pid: 0, cfg,
        ProcessConfig: { tty: !!cfg.Tty, entrypoint: cfg.Cmd[0], arguments: cfg.Cmd.slice(1), privileged: !!cfg.Privileged, user: cfg.User ?? '' },
        OpenStdin: !!cfg.AttachStdin, OpenStdout: cfg.AttachStdout !== false, OpenStderr: cfg.AttachStderr !== false, CanRemove: false, DetachKeys: '',
      });
      return { Id: id };
    },
    start: async (id, opts = {}) => {
      const x = this.execs.get(id);
      if (!x) throw fail('NOT_FOUND', `No such exec instance: ${id}`);
      if (x.Running || x.ExitCode !== null) throw fail('CONFLICT', `exec ${id} has already run`);
      x.Running = true;
      const finish = () => {
        x.Running = false;
        x.ExitCode = 0;
      };
      if (opts.detach) {
        finish();
        return undefined;
      }
      return this.run(!!x.cfg.Tty, x.cfg.Cmd, !!x.cfg.AttachStdin, finish);
    },
    resize: async (id) => {
      const x = this.execs.get(id);
      if (!x) throw fail('NOT_FOUND', `No such exec instance: ${id}`);
      if (!x.Running) throw fail('NOT_RUNNING', `exec ${id} is not running`);
    },
    inspect: async (id) => {
      const x = this.execs.get(id);
      if (!x) throw fail('NOT_FOUND', `No such exec instance: ${id}`);
      const { cfg: _cfg, ...view } = x;
      return view;
    },
  };

  readonly images: Backend['images'] = {
    list: async () => [...this.imgs.values()].map((i): ImageSummary => ({
      Id: i.Id, ParentId: '', RepoTags: i.RepoTags, RepoDigests: i.RepoDigests, Created: Math.floor(Date.parse(i.Created) / 1000), Size: i.Size, SharedSize: -1,
      VirtualSize: i.Size, Labels: {}, Containers: [...this.cs.values()].filter((c) => c.inspect.Image === i.Id).length,
    })),
    inspect: async (ref) => structuredClone(this.image(ref)),
    history: async (ref) => [{ Id: this.image(ref).Id, Created: 0, CreatedBy: '', Tags: null, Size: 1000, Comment: '' }],
    pull: async (ref, opts = {}) => {
      if (ref.includes('nosuch')) throw fail('NOT_FOUND', `pull access denied for ${ref}, repository does not exist`);
      opts.onProgress?.({ status: `Pulling from ${ref}` });
      if (opts.signal?.aborted) throw fail('UNAVAILABLE', 'pull cancelled');
      if (![...this.imgs.values()].some((i) => i.RepoTags.includes(ref.includes(':') ? ref : `${ref}:latest`))) this.addImage(ref);
      this.emit('image', 'pull', ref, { name: ref });
    },
    push: async (ref) => ({ tag: ref.split(':')[1] ?? 'latest', digest: `sha256:${this.image(ref).Id.slice(7)}`, size: 1000 }),
    tag: async (source, target) => {
      this.image(source).RepoTags.push(target.includes(':') ? target : `${target}:latest`);
      this.emit('image', 'tag', this.image(source).Id, { name: target });
    },
    remove: async (ref, opts = {}) => {
      const img = this.image(ref);
      const tag = img.RepoTags.find((t) => t === ref || t === `${ref}:latest`);
      if (tag && img.RepoTags.length > 1) {
        img.RepoTags = img.RepoTags.filter((t) => t !== tag);
        this.emit('image', 'untag', img.Id);
        return [{ Untagged: tag }];
      }
      if (!opts.force && [...this.cs.values()].some((c) => c.inspect.Image === img.Id)) throw fail('CONFLICT', `conflict: unable to remove repository reference "${ref}" (must force) - container is using its referenced image`);
      this.imgs.delete(img.Id);
      this.emit('image', 'delete', img.Id);
      return [...img.RepoTags.map((t) => ({ Untagged: t })), { Deleted: img.Id }];
    },
    prune: async () => ({ ImagesDeleted: null, SpaceReclaimed: 0 }),
    import: async (_tar, opts = {}) => this.addImage(opts.ref ?? `imported-${randomBytes(3).toString('hex')}`).Id,
    load: async () => [],
    build: async () => {
      throw fail('UNSUPPORTED', 'the fake engine has no builder');
    },
    builds: async () => [],
    buildRecord: async (id) => {
      throw fail('NOT_FOUND', `No such build: ${id}`);
    },
    removeBuildRecord: async (id) => {
      throw fail('NOT_FOUND', `No such build: ${id}`);
    },
    cancelBuild: async (id) => {
      throw fail('NOT_FOUND', `No such build: ${id}`);
    },
    onBuild: () => () => undefined,
    commit: async (container, opts) => {
      this.container(container);
      return { Id: this.addImage(opts.repo ? `${opts.repo}:${opts.tag || 'latest'}` : `committed-${randomBytes(3).toString('hex')}`).Id };
    },
    save: async (refs) => (refs.forEach((r) => this.image(r)), Readable.from([Buffer.alloc(1024)])),
    login: async () => undefined,
    logout: async () => false,
  };

  readonly networks: Backend['networks'] = {
    list: async () => [...this.nets.values()].map((n) => structuredClone(n)),
    inspect: async (ref) => {
      const n = [...this.nets.values()].find((x) => x.Id.startsWith(ref) || x.Name === ref);
      if (!n) throw fail('NOT_FOUND', `network ${ref} not found`);
      return structuredClone(n);
    },
    create: async (o) => {
      if ([...this.nets.values()].some((x) => x.Name === o.Name)) throw fail('CONFLICT', `network with name ${o.Name} already exists`);
      const n = this.addNetwork(o.Name, o.Driver ?? 'bridge');
      n.Internal = !!o.Internal;
      n.Labels = { ...(o.Labels ?? {}) };
      this.emit('network', 'create', n.Id, { name: o.Name });
      return { Id: n.Id, Warning: '' };
    },
    remove: async (ref) => {
      const n = await this.networks.inspect(ref);
      if (['bridge', 'host', 'none'].includes(n.Name)) throw fail('PERMISSION', `${n.Name} is a pre-defined network and cannot be removed`);
      this.nets.delete(n.Id);
      this.emit('network', 'destroy', n.Id, { name: n.Name });
    },
    connect: async (net, ref) => void (await this.networks.inspect(net), this.container(ref)),
    disconnect: async (net, ref) => void (await this.networks.inspect(net), this.container(ref)),
    prune: async () => ({ NetworksDeleted: [] }),
  };

  readonly volumes: Backend['volumes'] = {
    list: async () => [...this.vols.values()].map((v) => structuredClone(v)),
    inspect: async (name) => {
      const v = this.vols.get(name);
      if (!v) throw fail('NOT_FOUND', `get ${name}: no such volume`);
      return structuredClone(v);
    },
    create: async (o) => {
      if (o.Name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(o.Name)) throw fail('INVALID_ARGUMENT', `"${o.Name}" includes invalid characters for a local volume name`);
      const name = o.Name ?? id64();
      const v = this.vols.get(name) ?? { Name: name, Driver: 'local' as const, Mountpoint: `/fake/volumes/${name}/_data`, CreatedAt: new Date().toISOString(), Labels: { ...(o.Labels ?? {}) }, Scope: 'local' as const, Options: {} };
      this.vols.set(name, v);
      this.emit('volume', 'create', name);
      return structuredClone(v);
    },
    remove: async (name, force) => {
      if (!this.vols.delete(name) && !force) throw fail('NOT_FOUND', `get ${name}: no such volume`);
      this.emit('volume', 'destroy', name);
    },
    prune: async () => ({ VolumesDeleted: [], SpaceReclaimed: 0 }),
    browse: async (name, path) => {
      await this.volumes.inspect(name);
      return { volume: name, path, type: 'dir', entries: [] };
    },
  };

  readonly system: Backend['system'] = {
    info: async () => ({
      ID: 'fake', Name: 'fake', ServerVersion: 'fake', Containers: this.cs.size, ContainersRunning: [...this.cs.values()].filter((c) => c.inspect.State.Running).length,
      ContainersPaused: 0, ContainersStopped: [...this.cs.values()].filter((c) => !c.inspect.State.Running).length, Images: this.imgs.size, KernelVersion: '6.0.0-fake',
      OperatingSystem: 'Fake OS', NCPU: 2, MemTotal: 1 << 30, DockerRootDir: '/fake', CgroupVersion: '2',
    }),
    version: async () => ({ Version: 'fake', ApiVersion: '', MinAPIVersion: '', Os: 'linux', Arch: 'amd64', KernelVersion: '6.0.0-fake' }),
    diskUsage: async () => ({ LayersSize: 0, Images: await this.images.list(), Containers: await this.containers.list({ all: true }), Volumes: await this.volumes.list(), BuildCache: [] }),
    pruneCache: async () => ({ CachesDeleted: null, SpaceReclaimed: 0 }),
    events: (listener, opts = {}) => {
      if (opts.since !== undefined) for (const e of this.history) if (e.timeNano >= opts.since) listener(e);
      this.eventListeners.add(listener);
      return () => this.eventListeners.delete(listener);
    },
    recentEvents: async () => [...this.history],
  };

  readonly stats: Backend['stats'] = {
    subscribe: (listener) => {
      this.statListeners.add(listener);
      return () => this.statListeners.delete(listener);
    },
    onMark: (listener) => {
      this.markListeners.add(listener);
      return () => this.markListeners.delete(listener);
    },
    history: async (id) => (this.container(id), { samples: [], marks: [] }),
  };

  /** Listeners still subscribed (a test checks callers dispose theirs). */
  get listenerCount(): number {
    return this.eventListeners.size + this.statListeners.size + this.markListeners.size;
  }
}
