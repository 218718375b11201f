// /containers/… endpoints: lifecycle, inspect and list, logs, attach (the backend holds stdin
// until start; half-close is stdin EOF), wait (headers flushed at once), stats, top.
import { totalmem } from 'node:os';
import type { ContainerInspect, ContainerStatsReading, ContainerUpdate } from '../../common/docker.ts';
import type { ContainerCreateOptions, HostConfig } from '../../common/models.ts';
import type { StdioStream, WaitCondition } from '../backend/backend.ts';
import { DEFAULT_DETACH_KEYS, EscapeMatcher, parseDetachKeys } from '../../common/grammar/index.ts';
import { frame, hijack, type Hijacked } from './hijack.ts';
import { ApiError, bool, commonHeaders, filters, int, readJson, sendEmpty, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

const ID = '([^/]+)';

const HOST_CONFIG_KEYS: (keyof HostConfig)[] = [
  'Binds', 'Mounts', 'Tmpfs', 'Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'CpuRealtimeRuntime', 'CpuRealtimePeriod',
  'PidsLimit', 'Ulimits', 'CapAdd', 'CapDrop', 'Privileged', 'ReadonlyRootfs', 'SecurityOpt', 'RestartPolicy', 'AutoRemove',
  'NetworkMode', 'UsernsMode', 'Init', 'PidMode', 'IpcMode', 'UTSMode', 'CgroupnsMode', 'GroupAdd', 'Devices', 'DeviceCgroupRules', 'Runtime', 'Isolation', 'ShmSize', 'ConsoleSize', 'OomScoreAdj', 'Sysctls', 'LogConfig',
  'PortBindings', 'PublishAllPorts', 'Links', 'Dns', 'DnsSearch', 'DnsOptions', 'ExtraHosts', 'VolumesFrom',
];

const TYPES: Record<string, string> = {
  Image: 'string', Cmd: 'array', Entrypoint: 'array', Env: 'array', WorkingDir: 'string', User: 'string', Hostname: 'string',
  Domainname: 'string', Tty: 'boolean', OpenStdin: 'boolean', StdinOnce: 'boolean', Labels: 'object', StopSignal: 'string', StopTimeout: 'number', Healthcheck: 'object',
  ExposedPorts: 'object', Volumes: 'object', NetworkingConfig: 'object', MacAddress: 'string',
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
    // Lists of words: every element a string, or the field is named (dockerd's decoder does the same).
    if (Array.isArray(v) && (k === 'Cmd' || k === 'Entrypoint' || k === 'Env')) {
      const odd = v.find((x) => typeof x !== 'string');
      if (odd !== undefined) throw new ApiError(400, `json: cannot unmarshal ${odd === null ? 'null' : Array.isArray(odd) ? 'array' : typeof odd} into Go struct field Config.${k} of type string`);
    }
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

/** The detach keys a request names (or the default), refused as dockerd refuses them. */
export function detachKeysOf(value: string | null | undefined, what = 'detach keys'): number[] {
  try {
    return parseDetachKeys(value || DEFAULT_DETACH_KEYS, what);
  } catch {
    throw new ApiError(400, `Invalid ${what} (${value}) provided`);
  }
}

/**
 * Hands a hijacked connection to a backend stdio stream, both ways; resolves when either side
 * ends. The detach keys in stdin end the client's connection only: the process keeps running,
 * its stdin stays open and its output is drained.
 */
export async function bridgeStdio(h: Hijacked, s: StdioStream, stdin: boolean, detachKeys: number[]): Promise<void> {
  const out = h.out as NodeJS.WritableStream & { destroyed?: boolean; on(e: string, f: () => void): void };
  const escape = new EscapeMatcher(detachKeys);
  let detached = false;
  let detach = () => undefined as void;
  const forward = (d: Buffer) => {
    if (detached) return;
    const { pass, detach: done } = escape.feed(d);
    if (pass.length) s.stream.write(pass);
    if (done) detach();
  };
  const output = (d: Buffer) => {
    if (!out.destroyed) out.write(d);
  };
  s.stream.on('data', output);
  s.stream.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    detach = () => {
      detached = true;
      s.stream.off('data', output);
      s.stream.resume();
      resolve();
    };
    if (stdin) {
      if (h.head.length) forward(h.head);
      h.input.on('data', forward);
      h.input.on('end', () => !detached && s.stream.end());
    }
    s.stream.on('end', () => resolve());
    s.stream.on('close', () => resolve());
    out.on('close', () => {
      if (!detached) s.stream.destroy();
      resolve();
    });
  });
  h.close();
}

async function attach(ctx: Ctx): Promise<void> {
  const opts = { stdin: bool(q(ctx, 'stdin')), stdout: bool(q(ctx, 'stdout')), stderr: bool(q(ctx, 'stderr')), logs: bool(q(ctx, 'logs')), stream: bool(q(ctx, 'stream')) };
  const keys = detachKeysOf(q(ctx, 'detachKeys'));
  const s = await ctx.backend.containers.attach(ctx.params[0], opts);
  await bridgeStdio(hijack(ctx, s.tty), s, opts.stdin, keys);
}

async function wait(ctx: Ctx): Promise<void> {
  const cond = (q(ctx, 'condition') ?? 'not-running') as WaitCondition;
  if (!['not-running', 'next-exit', 'removed'].includes(cond)) throw new ApiError(400, `invalid condition: ${cond}`);
  await ctx.backend.containers.inspect(ctx.params[0]);
  const out = res(ctx);
  const abort = new AbortController();
  res(ctx).once('close', () => abort.abort()); // per request: a keep-alive socket outlives it
  const result = ctx.backend.containers.wait(ctx.params[0], cond, abort.signal);
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
  const c = await ctx.backend.containers.inspect(ctx.params[0]);
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
  res(ctx).once('close', () => abort.abort()); // per request: a keep-alive socket outlives it
  const tty = c.Config.Tty;
  // Opened before the headers go out, so a driver that keeps nothing is an error response.
  const lines = ctx.backend.containers.logs(c.Id, { stdout, stderr, tail, since, until, follow: bool(q(ctx, 'follow')), signal: abort.signal });
  startStream(out, tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream');
  try {
    for await (const e of lines) {
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

function dockerStats(c: ContainerInspect, s: ContainerStatsReading, prev: DockerStats | undefined): DockerStats {
  const blk = (op: string) => s.blkio.filter((b) => b.op === op).map((b) => ({ major: b.major, minor: b.minor, op: op === 'read' ? 'read' : 'write', value: b.value }));
  const cpu = {
    cpu_usage: { total_usage: s.cpu.totalNs, percpu_usage: s.cpu.perCpuNs, usage_in_kernelmode: s.cpu.systemNs, usage_in_usermode: s.cpu.userNs },
    system_cpu_usage: s.cpu.systemNs_host, online_cpus: s.cpu.onlineCpus,
    throttling_data: { periods: 0, throttled_periods: s.cpu.throttledPeriods, throttled_time: 0 },
  };
  return {
    name: c.Name, id: c.Id, read: s.read, preread: prev?.read ?? '0001-01-01T00:00:00Z',
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
  const c = await ctx.backend.containers.inspect(ctx.params[0]);
  const stream = bool(q(ctx, 'stream'), true) && !bool(q(ctx, 'one-shot'));
  const out = res(ctx);
  if (!c.State.Running) {
    // Docker answers with zeroed stats for a stopped container.
    return sendJson(out, 200, { name: c.Name, id: c.Id, read: '0001-01-01T00:00:00Z', preread: '0001-01-01T00:00:00Z', pids_stats: {}, blkio_stats: {}, num_procs: 0, storage_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, precpu_stats: { cpu_usage: { total_usage: 0 }, throttling_data: {} }, memory_stats: {} });
  }
  let prev: DockerStats | undefined;
  if (!stream && !bool(q(ctx, 'one-shot'))) {
    // docker stats --no-stream: two samples a second apart, so CPU % has a delta.
    prev = dockerStats(c, await ctx.backend.containers.stats(c.Id), undefined);
    await new Promise((res2) => setTimeout(res2, 1000));
  }
  if (!stream) return sendJson(out, 200, dockerStats(c, await ctx.backend.containers.stats(c.Id), prev));
  startStream(out);
  let open = true;
  res(ctx).once('close', () => (open = false));
  while (open) {
    let cur;
    try {
      cur = dockerStats(c, await ctx.backend.containers.stats(c.Id), prev);
    } catch {
      break;
    }
    out.write(`${JSON.stringify(cur)}\n`);
    prev = cur;
    await new Promise((res2) => setTimeout(res2, 1000));
  }
  out.end();
}

const empty = (status: number) => async (ctx: Ctx, p: Promise<unknown>) => {
  await p;
  sendEmpty(res(ctx), status);
};
const noContent = empty(204);

export const containerRoutes: Route[] = [
  { method: 'GET', path: /^\/containers\/json$/, handler: async (ctx) => {
    const list = await ctx.backend.containers.list({ all: bool(q(ctx, 'all')), filters: filters(q(ctx, 'filters')), limit: int(q(ctx, 'limit'), 'limit'), size: bool(q(ctx, 'size')) });
    sendJson(res(ctx), 200, list);
  } },
  { method: 'POST', path: /^\/containers\/create$/, handler: async (ctx) => {
    const body = await readJson<Record<string, unknown>>(ctx.req);
    const name = q(ctx, 'name');
    if (name !== null && name.length > 255) throw new ApiError(400, `invalid container name (${name.slice(0, 40)}…): too long`);
    sendJson(res(ctx), 201, await ctx.backend.containers.create(createOptions(body, name)));
  } },
  { method: 'POST', path: /^\/containers\/prune$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.containers.prune(filters(q(ctx, 'filters')))) },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/json$`), handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.containers.inspect(ctx.params[0])) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/start$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.start(ctx.params[0])) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/stop$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.stop(ctx.params[0], { timeout: int(q(ctx, 't'), 't'), signal: q(ctx, 'signal') ?? undefined })) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/restart$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.restart(ctx.params[0], { timeout: int(q(ctx, 't'), 't') })) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/kill$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.kill(ctx.params[0], q(ctx, 'signal') ?? undefined)) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/pause$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.pause(ctx.params[0])) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/unpause$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.unpause(ctx.params[0])) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/wait$`), handler: wait },
  // `docker rm --link PARENT/ALIAS` deletes "/containers/PARENT/ALIAS?link=1".
  { method: 'DELETE', path: /^\/containers\/([^/]+)\/([^/]+)$/, handler: async (ctx) => {
    if (!bool(q(ctx, 'link'))) throw new ApiError(404, 'page not found');
    await noContent(ctx, ctx.backend.containers.removeLink(ctx.params[0], ctx.params[1]));
  } },
  { method: 'DELETE', path: new RegExp(`^/containers/${ID}$`), handler: (ctx) => noContent(ctx, ctx.backend.containers.remove(ctx.params[0], { force: bool(q(ctx, 'force')), volumes: bool(q(ctx, 'v')) })) },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/rename$`), handler: async (ctx) => {
    const name = q(ctx, 'name');
    if (!name) throw new ApiError(400, 'rename needs a name');
    await noContent(ctx, ctx.backend.containers.rename(ctx.params[0], name));
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/update$`), handler: async (ctx) => {
    const body = await readJson<Record<string, unknown>>(ctx.req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'update needs a JSON object');
    sendJson(res(ctx), 200, await ctx.backend.containers.update(ctx.params[0], updateOptions(body)));
  } },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/resize$`), handler: async (ctx) => {
    const h = int(q(ctx, 'h'), 'h');
    const w = int(q(ctx, 'w'), 'w');
    if (!h || !w || h < 0 || w < 0 || h > 65535 || w > 65535) throw new ApiError(400, 'resize needs positive h and w');
    await empty(200)(ctx, ctx.backend.containers.resize(ctx.params[0], h, w));
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/logs$`), handler: logs },
  { method: 'POST', path: new RegExp(`^/containers/${ID}/attach$`), hijack: true, handler: attach },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/stats$`), handler: stats },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/top$`), handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.containers.top(ctx.params[0], q(ctx, 'ps_args') || undefined)) },
];
