// /containers/… endpoints: lifecycle, inspect and list in Docker's shapes, logs, attach (stdin
// buffered until start, half-close is stdin EOF), wait (headers flushed at once), stats, top.
import { execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { humanDuration } from '../../common/format.ts';
import type { ContainerCreateOptions, HostConfig } from '../../common/models.ts';
import type { ContainerRecord } from '../engine/containers/containerRecord.ts';
import type { ContainerUpdate } from '../engine/containers/containerService.ts';
import { deframer, frame, hijack } from './hijack.ts';
import { ApiError, bool, commonHeaders, filters, int, readJson, sendEmpty, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type PendingAttach, type Route } from './types.ts';

const ID = '([^/]+)';

const HOST_CONFIG_KEYS: (keyof HostConfig)[] = [
  'Binds', 'Mounts', 'Tmpfs', 'Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems',
  'PidsLimit', 'Ulimits', 'CapAdd', 'CapDrop', 'Privileged', 'ReadonlyRootfs', 'SecurityOpt', 'RestartPolicy', 'AutoRemove',
  'NetworkMode', 'UsernsMode', 'ShmSize', 'ConsoleSize', 'OomScoreAdj', 'Sysctls', 'LogConfig',
  'PortBindings', 'PublishAllPorts', 'Links', 'Dns', 'DnsSearch', 'DnsOptions', 'ExtraHosts', 'VolumesFrom',
];

const TYPES: Record<string, string> = {
  Image: 'string', Cmd: 'array', Entrypoint: 'array', Env: 'array', WorkingDir: 'string', User: 'string', Hostname: 'string',
  Domainname: 'string', Tty: 'boolean', OpenStdin: 'boolean', StdinOnce: 'boolean', Labels: 'object', StopSignal: 'string', StopTimeout: 'number',
  ExposedPorts: 'object', Volumes: 'object', NetworkingConfig: 'object',
};

/** Docker's create body → the engine's options. Unknown keys are ignored, wrong types are a 400. */
export function createOptions(body: Record<string, unknown>, name: string | null): ContainerCreateOptions {
  const opts: Record<string, unknown> = {};
  for (const [k, type] of Object.entries(TYPES)) {
    let v = body[k];
    if (v === undefined || v === null) continue;
    if ((k === 'Cmd' || k === 'Entrypoint') && typeof v === 'string') v = [v];
    const actual = Array.isArray(v) ? 'array' : typeof v;
    if (actual !== type) throw new ApiError(400, `json: cannot unmarshal ${actual} into Go struct field Config.${k} of type ${type}`);
    opts[k] = v;
  }
  if (typeof opts.Image !== 'string' || !opts.Image) throw new ApiError(400, 'config.Image: an image name is required');
  const hc = (body.HostConfig ?? {}) as Record<string, unknown>;
  if (typeof hc !== 'object' || Array.isArray(hc)) throw new ApiError(400, 'HostConfig must be an object');
  const host: Record<string, unknown> = {};
  for (const k of HOST_CONFIG_KEYS) if (hc[k] !== undefined && hc[k] !== null) host[k] = hc[k];
  if (host.PidsLimit === 0) delete host.PidsLimit;
  if (host.ConsoleSize && (host.ConsoleSize as number[]).every((n) => n === 0)) delete host.ConsoleSize;
  if (name !== null && name !== '') opts.name = name;
  return { ...(opts as unknown as ContainerCreateOptions), HostConfig: host as HostConfig };
}

const UPDATE_TYPES: Record<string, 'number' | 'string' | 'object'> = {
  Memory: 'number', MemorySwap: 'number', NanoCpus: 'number', CpuShares: 'number', CpuQuota: 'number', CpuPeriod: 'number',
  CpusetCpus: 'string', CpusetMems: 'string', PidsLimit: 'number', RestartPolicy: 'object',
};

/** The body of POST /containers/{id}/update. The CLI sends every field; zero and empty mean "keep". */
export function updateOptions(body: Record<string, unknown>): ContainerUpdate {
  const out: Record<string, unknown> = {};
  for (const [k, type] of Object.entries(UPDATE_TYPES)) {
    const v = body[k];
    if (v === undefined || v === null || v === 0 || v === '') continue;
    const actual = Array.isArray(v) ? 'array' : typeof v;
    if (actual !== type) throw new ApiError(400, `json: cannot unmarshal ${actual} into Go struct field UpdateConfig.${k} of type ${type}`);
    if (k === 'RestartPolicy' && !(v as { Name?: string }).Name) continue;
    out[k] = v;
  }
  return out as ContainerUpdate;
}

function command(r: ContainerRecord): string {
  return [r.Path, ...r.Args].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
}

function statusText(r: ContainerRecord): string {
  const s = r.State;
  const since = (t: string) => humanDuration(Date.now() - Date.parse(t));
  if (s.Paused) return `Up ${since(s.StartedAt)} (Paused)`;
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
  if (s.Running) return `Up ${since(s.StartedAt)}`;
  if (s.Status === 'created') return 'Created';
  if (s.Status === 'dead') return 'Dead';
  return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
}

export function inspectShape(ctx: Ctx, r: ContainerRecord) {
  const dir = ctx.engine.containers.containerDir(r.Id);
  const networkMode = r.HostConfig.NetworkMode ?? 'bridge';
  return {
    Id: r.Id, Created: r.Created, Path: r.Path, Args: r.Args,
    State: { ...r.State, Health: undefined },
    Image: r.ImageID,
    ResolvConfPath: `${dir}/resolv.conf`, HostnamePath: `${dir}/hostname`, HostsPath: `${dir}/hosts`, LogPath: `${dir}/container.log`,
    Name: r.Name, RestartCount: r.RestartCount, Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
    ExecIDs: [...ctx.state.execs.values()].filter((e) => e.ContainerID === r.Id && e.Running).map((e) => e.ID),
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: networkMode, PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [0, 0],
      CapAdd: null, CapDrop: null, CgroupnsMode: 'private', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
      IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false,
      SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864, Runtime: 'berth', Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0,
      CgroupParent: '', BlkioWeight: 0, CpuPeriod: 0, CpuQuota: 0, CpusetCpus: '', CpusetMems: '', Devices: [], MemoryReservation: 0,
      MemorySwap: 0, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Ulimits: null, Mounts: [], MaskedPaths: [], ReadonlyPaths: [],
      ...r.HostConfig,
    },
    GraphDriver: { Name: 'overlay2', Data: null },
    Mounts: mountsShape(r),
    Config: { ...r.Config, AttachStdin: false, AttachStdout: true, AttachStderr: true, ExposedPorts: r.Config.ExposedPorts, Volumes: r.Config.Volumes ?? null, OnBuild: null },
    NetworkSettings: networkSettingsShape(r),
  };
}

function mountsShape(r: ContainerRecord) {
  return (r.Mounts ?? []).map((m) => ({
    Type: m.Type, ...(m.Name ? { Name: m.Name } : {}), Source: m.Source, Destination: m.Destination, ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
  }));
}

function networkSettingsShape(r: ContainerRecord) {
  const ns = r.NetworkSettings ?? { Networks: {}, Ports: {}, SandboxKey: '' };
  const running = r.State.Running;
  const bridge = ns.Networks.bridge;
  const networks = Object.fromEntries(Object.entries(ns.Networks));
  const mode = r.HostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode === 'none') {
    networks[mode] = {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null, DriverOpts: null,
    };
  }
  return {
    Bridge: '', SandboxID: running ? r.Id : '', SandboxKey: running ? ns.SandboxKey : '', Ports: running ? ns.Ports : {}, HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '', Gateway: bridge?.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '', IPPrefixLen: bridge?.IPPrefixLen ?? 0, IPv6Gateway: '', MacAddress: bridge?.MacAddress ?? '', Networks: networks,
  };
}

function portsShape(r: ContainerRecord) {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const ports = r.State.Running ? r.NetworkSettings?.Ports ?? {} : {};
  for (const [key, list] of Object.entries(ports)) {
    const [port, proto] = key.split('/');
    if (!list?.length) out.push({ PrivatePort: Number(port), Type: proto });
    for (const b of list ?? []) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}

function listShape(r: ContainerRecord, size: boolean) {
  return {
    Id: r.Id, Names: [r.Name], Image: r.Config.Image, ImageID: r.ImageID, Command: command(r),
    Created: Math.floor(Date.parse(r.Created) / 1000), Ports: portsShape(r), Labels: r.Config.Labels ?? {},
    State: r.State.Status, Status: statusText(r),
    ...(size ? { SizeRw: 0, SizeRootFs: 0 } : {}),
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'bridge' }, NetworkSettings: { Networks: networkSettingsShape(r).Networks },
    Mounts: mountsShape(r),
  };
}

function matchesFilters(ctx: Ctx, r: ContainerRecord, f: Map<string, string[]>): boolean {
  for (const [key, values] of f) {
    if (!values.length) continue;
    const ok = values[key === 'label' ? 'every' : 'some']((v) => {
      switch (key) {
        case 'status': return r.State.Status === v;
        case 'id': return r.Id.startsWith(v);
        case 'name': return r.Name.slice(1).includes(v.replace(/^\//, '')) || new RegExp(v).test(r.Name.slice(1));
        case 'label': {
          const [k, val] = v.split('=', 2);
          const labels = r.Config.Labels ?? {};
          return val === undefined ? k in labels : labels[k] === v.slice(k.length + 1);
        }
        case 'exited': return !r.State.Running && r.State.Status === 'exited' && r.State.ExitCode === Number(v);
        case 'ancestor': {
          try {
            return ctx.engine.images.resolveId(v) === r.ImageID;
          } catch {
            return r.Config.Image === v;
          }
        }
        case 'network': return Object.entries(r.NetworkSettings?.Networks ?? {}).some(([name, ep]) => name === v || ep.NetworkID.startsWith(v)) || r.HostConfig.NetworkMode === v;
        case 'volume': return (r.Mounts ?? []).some((m) => m.Name === v || m.Source === v || m.Destination === v);
        case 'publish': case 'expose': {
          const want = v.includes('/') ? v : `${v}/tcp`;
          if (key === 'expose') return want in (r.Config.ExposedPorts ?? {});
          return Object.values(r.NetworkSettings?.Ports ?? {}).some((l) => (l ?? []).some((b) => `${b.HostPort}/tcp` === want || `${b.HostPort}/udp` === want)) ||
            Object.entries(r.NetworkSettings?.Ports ?? {}).some(([k, l]) => k === want && !!l?.length);
        }
        case 'before': case 'since': {
          const other = ctx.engine.containers.get(v);
          return key === 'before' ? r.Created < other.Created : r.Created > other.Created;
        }
        default: throw new ApiError(400, `invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** Wires a client to a running container's shim; resolves when output ends. */
async function pipeToShim(ctx: Ctx, runDir: string, p: Omit<PendingAttach, 'connect'>): Promise<void> {
  const shim = await ctx.engine.attachTo(runDir, p.streams);
  shim.on('error', () => undefined);
  for (const b of p.buffered) shim.write(b);
  if (p.streams.stdin && p.input) {
    if (p.stdinEnded) shim.end();
    else {
      p.input.on('data', (d: Buffer) => shim.write(d));
      p.input.on('end', () => shim.end());
    }
  } else if (!p.streams.stdin) {
    shim.end();
  }
  const src = p.tty ? shim.pipe(deframer()) : shim;
  src.on('data', (d: Buffer) => {
    if (!p.out.destroyed) p.out.write(d);
  });
  await new Promise<void>((resolve) => {
    shim.on('close', () => resolve());
    (p.out as unknown as NodeJS.EventEmitter).on('close', () => {
      shim.destroy();
      resolve();
    });
  });
  if (!p.out.destroyed) p.out.end();
}

async function attach(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  const streams = { stdin: bool(q(ctx, 'stdin')), stdout: bool(q(ctx, 'stdout')), stderr: bool(q(ctx, 'stderr')) };
  if (!bool(q(ctx, 'stream')) && !bool(q(ctx, 'logs'))) throw new ApiError(400, 'attach needs stream=1 or logs=1');
  const tty = r.Config.Tty;
  const h = hijack(ctx, tty);
  const pending: Omit<PendingAttach, 'connect'> = { streams, tty, out: h.out, input: streams.stdin ? h.input : undefined, buffered: h.head.length ? [h.head] : [], stdinEnded: false };
  if (bool(q(ctx, 'logs'))) {
    for await (const e of ctx.engine.logs(r.Id, { stdout: streams.stdout, stderr: streams.stderr })) {
      h.out.write(tty ? Buffer.from(e.text) : frame(e.stream === 'stderr' ? 2 : 1, Buffer.from(e.text)));
    }
    if (!bool(q(ctx, 'stream'))) return h.close();
  }
  if (r.State.Running && r.runtime) {
    await pipeToShim(ctx, r.runtime.runDir, pending);
    return;
  }
  // Not started yet: hold stdin (and its EOF) until /start connects us before the process execs.
  if (pending.input) {
    pending.input.on('data', (d: Buffer) => pending.buffered.push(Buffer.from(d)));
    pending.input.on('end', () => (pending.stdinEnded = true));
  }
  let done!: () => void;
  const finished = new Promise<void>((r2) => (done = r2));
  const entry: PendingAttach = {
    ...pending,
    connect: async (runDir) => {
      pending.input?.removeAllListeners('data');
      pending.input?.removeAllListeners('end');
      void pipeToShim(ctx, runDir, pending).finally(done);
    },
  };
  const list = ctx.state.pendingAttach.get(r.Id) ?? [];
  list.push(entry);
  ctx.state.pendingAttach.set(r.Id, list);
  (h.out as unknown as NodeJS.EventEmitter).on('close', () => {
    const l = ctx.state.pendingAttach.get(r.Id)?.filter((x) => x !== entry);
    if (l?.length) ctx.state.pendingAttach.set(r.Id, l);
    else ctx.state.pendingAttach.delete(r.Id);
    done();
  });
  await finished;
}

async function start(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  if (r.State.Running) return sendEmpty(res(ctx), 304);
  const pending = ctx.state.pendingAttach.get(r.Id) ?? [];
  ctx.state.pendingAttach.delete(r.Id);
  await ctx.engine.start(r.Id, pending.length ? { beforeExec: async (runDir) => { for (const p of pending) await p.connect(runDir); } } : undefined);
  sendEmpty(res(ctx), 204);
}

async function wait(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  const cond = (q(ctx, 'condition') ?? 'not-running') as 'not-running' | 'next-exit' | 'removed';
  if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw new ApiError(400, `invalid condition: ${cond}`);
  const out = res(ctx);
  const abort = new AbortController();
  ctx.req.socket.on('close', () => abort.abort());
  const result = ctx.engine.wait(r.Id, cond, abort.signal);
  // The CLI blocks on these headers before it sends /start.
  out.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
  out.flushHeaders();
  try {
    const w = await result;
    out.end(JSON.stringify({ StatusCode: w.StatusCode, Error: w.Error ?? null }));
  } catch {
    out.destroy();
  }
}

async function logs(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  const stdout = bool(q(ctx, 'stdout'));
  const stderr = bool(q(ctx, 'stderr'));
  if (!stdout && !stderr) throw new ApiError(400, 'You must choose at least one stream');
  const tailQ = q(ctx, 'tail');
  const tail = tailQ === null || tailQ === 'all' || tailQ === '' ? undefined : int(tailQ, 'tail');
  const since = q(ctx, 'since') ? Number(q(ctx, 'since')) : undefined;
  const until = q(ctx, 'until') ? Number(q(ctx, 'until')) : undefined;
  const timestamps = bool(q(ctx, 'timestamps'));
  const out = res(ctx);
  const abort = new AbortController();
  ctx.req.socket.on('close', () => abort.abort());
  const tty = r.Config.Tty;
  startStream(out, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
  try {
    for await (const e of ctx.engine.logs(r.Id, { stdout, stderr, tail, since, until, follow: bool(q(ctx, 'follow')), signal: abort.signal })) {
      const data = Buffer.from(timestamps ? `${e.time} ${e.text}` : e.text);
      out.write(tty ? data : frame(e.stream === 'stderr' ? 2 : 1, data));
    }
  } catch {
    /* client went away */
  }
  out.end();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DockerStats = Record<string, any>;

function dockerStats(ctx: Ctx, r: ContainerRecord, s: Awaited<ReturnType<Ctx['engine']['stats']>>, prev: DockerStats | undefined): DockerStats {
  const blk = (op: string) => s.blkio.filter((b) => b.op === op).map((b) => ({ major: b.major, minor: b.minor, op: op === 'read' ? 'read' : 'write', value: b.value }));
  const cpu = {
    cpu_usage: { total_usage: s.cpu.totalNs, percpu_usage: s.cpu.perCpuNs, usage_in_kernelmode: s.cpu.systemNs, usage_in_usermode: s.cpu.userNs },
    system_cpu_usage: s.cpu.systemNs_host, online_cpus: s.cpu.onlineCpus,
    throttling_data: { periods: 0, throttled_periods: s.cpu.throttledPeriods, throttled_time: 0 },
  };
  return {
    name: r.Name, id: r.Id, read: s.read, preread: prev?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: { current: s.pids.current, ...(s.pids.limit ? { limit: s.pids.limit } : {}) },
    blkio_stats: { io_service_bytes_recursive: [...blk('read'), ...blk('write')], io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0, storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: prev?.cpu_stats ?? { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    memory_stats: { usage: s.memory.usage, max_usage: s.memory.maxUsage, stats: { ...s.memory.stats, inactive_file: s.memory.inactiveFile, total_inactive_file: s.memory.inactiveFile, cache: s.memory.cache }, limit: s.memory.limit > 0 && s.memory.limit < totalmem() ? s.memory.limit : totalmem() },
    networks: Object.fromEntries(Object.entries(s.networks).map(([k, n]) => [k, n])),
  };
}

async function stats(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  const stream = bool(q(ctx, 'stream'), true) && !bool(q(ctx, 'one-shot'));
  const out = res(ctx);
  if (!r.State.Running) {
    // Docker answers with zeroed stats for a stopped container.
    return sendJson(out, 200, { name: r.Name, id: r.Id, read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, blkio_stats: {}, num_procs: 0, storage_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, precpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, memory_stats: {} });
  }
  let prev: DockerStats | undefined;
  if (!stream && !bool(q(ctx, 'one-shot'))) {
    // docker stats --no-stream: two samples a second apart, so CPU % has a delta.
    prev = dockerStats(ctx, r, await ctx.engine.stats(r.Id), undefined);
    await new Promise((res2) => setTimeout(res2, 1000));
  }
  if (!stream) return sendJson(out, 200, dockerStats(ctx, r, await ctx.engine.stats(r.Id), prev));
  startStream(out);
  let open = true;
  ctx.req.socket.on('close', () => (open = false));
  while (open) {
    let cur;
    try {
      cur = dockerStats(ctx, ctx.engine.containers.get(r.Id), await ctx.engine.stats(r.Id), prev);
    } catch {
      break;
    }
    out.write(`${JSON.stringify(cur)}\n`);
    prev = cur;
    await new Promise((res2) => setTimeout(res2, 1000));
  }
  out.end();
}

function top(ctx: Ctx): void {
  const r = ctx.engine.containers.get(ctx.params[0]);
  if (!r.State.Running) throw new ApiError(409, `container ${r.Id} is not running`);
  const psArgs = q(ctx, 'ps_args') || '-ef';
  if (!/^[\w -]*$/.test(psArgs)) throw new ApiError(400, `invalid ps arguments: ${psArgs}`);
  const procs = readCgroupPids(r.State.Pid);
  const text = execFileSync('ps', [...psArgs.split(/\s+/).filter(Boolean)], { encoding: 'utf8' }).trimEnd().split('\n');
  const titles = text[0].trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  const rows = text.slice(1).map((l) => {
    const cols = l.trim().split(/\s+/);
    return [...cols.slice(0, titles.length - 1), cols.slice(titles.length - 1).join(' ')];
  }).filter((cols) => procs.has(Number(cols[pidCol])));
  sendJson(res(ctx), 200, { Titles: titles, Processes: rows });
}

/** Pids in the container: its init and every descendant. */
function readCgroupPids(init: number): Set<number> {
  const out = new Set<number>([init]);
  const children = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of children) {
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  return out;
}

export const containerRoutes: Route[] = [
  { method: 'GET', path: /^\/containers\/json$/, handler: async (ctx) => {
    const f = filters(q(ctx, 'filters'));
    const all = bool(q(ctx, 'all')) || f.has('status') || f.has('exited');
    let list = ctx.engine.containers.list(true).filter((r) => all || r.State.Running).filter((r) => matchesFilters(ctx, r, f));
    list.sort((a, b) => b.Created.localeCompare(a.Created));
    const limit = int(q(ctx, 'limit'), 'limit');
    if (limit && limit > 0) list = list.slice(0, limit);
    sendJson(res(ctx), 200, list.map((r) => listShape(r, bool(q(ctx, 'size')))));
  } },
  { method: 'POST', path: /^\/containers\/create$/, handler: async (ctx) => {
    const body = await readJson<Record<string, unknown>>(ctx.req);
    const name = q(ctx, 'name');
    if (name !== null && name.length > 255) throw new ApiError(400, `invalid container name (${name.slice(0, 40)}…): too long`);
    const r = await ctx.engine.create(createOptions(body, name));
    sendJson(res(ctx), 201, { Id: r.Id, Warnings: [] });
  } },
  { method: 'POST', path: /^\/containers\/prune$/, handler: async (ctx) => {
    const deleted: string[] = [];
    for (const r of ctx.engine.containers.list(true)) {
      if (r.State.Running || r.State.Paused) continue;
      await ctx.engine.containers.remove(r.Id);
      deleted.push(r.Id);
    }
    sendJson(res(ctx), 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 });
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/json$`), handler: async (ctx) => sendJson(res(ctx), 200, inspectShape(ctx, ctx.engine.containers.get(ctx.params[0]))) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/start$`), handler: start },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/stop$`), handler: async (ctx) => {
    const r = ctx.engine.containers.get(ctx.params[0]);
    if (!r.State.Running) return sendEmpty(res(ctx), 304);
    await ctx.engine.containers.stop(r.Id, { timeout: int(q(ctx, 't'), 't'), signal: q(ctx, 'signal') ?? undefined });
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/restart$`), handler: async (ctx) => {
    await ctx.engine.containers.restart(ctx.params[0], { timeout: int(q(ctx, 't'), 't') });
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/kill$`), handler: async (ctx) => {
    await ctx.engine.containers.kill(ctx.params[0], q(ctx, 'signal') ?? undefined);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/pause$`), handler: async (ctx) => {
    await ctx.engine.containers.pause(ctx.params[0]);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/unpause$`), handler: async (ctx) => {
    await ctx.engine.containers.unpause(ctx.params[0]);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/wait$`), handler: wait },
  { method: 'DELETE', path: new RegExp(`^/containers/${ID}$`), handler: async (ctx) => {
    await ctx.engine.containers.remove(ctx.params[0], { force: bool(q(ctx, 'force')), volumes: bool(q(ctx, 'v')) });
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/rename$`), handler: async (ctx) => {
    const name = q(ctx, 'name');
    if (!name) throw new ApiError(400, 'rename needs a name');
    ctx.engine.containers.rename(ctx.params[0], name);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/update$`), handler: async (ctx) => {
    const body = await readJson<Record<string, unknown>>(ctx.req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'update needs a JSON object');
    ctx.engine.containers.update(ctx.params[0], updateOptions(body));
    sendJson(res(ctx), 200, { Warnings: [] });
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/resize$`), handler: async (ctx) => {
    const h = int(q(ctx, 'h'), 'h');
    const w = int(q(ctx, 'w'), 'w');
    if (!h || !w || h < 0 || w < 0 || h > 65535 || w > 65535) throw new ApiError(400, 'resize needs positive h and w');
    await ctx.engine.containers.resize(ctx.params[0], h, w);
    sendEmpty(res(ctx), 200);
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/logs$`), handler: logs },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/attach$`), hijack: true, handler: attach },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/stats$`), handler: stats },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/top$`), handler: async (ctx) => top(ctx) },
];
