// /_ping, /version, /info, /events, /system/df, /auth, and the absent plugin endpoints.
import { availableParallelism, hostname, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { EngineEvent } from '../engine/events/eventBus.ts';
import { API_VERSION, ApiError, commonHeaders, filters, MIN_API_VERSION, readJson, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

function ping(ctx: Ctx): Promise<void> {
  const out = res(ctx);
  out.writeHead(200, { ...commonHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1', 'Content-Length': '2' });
  out.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  return Promise.resolve();
}

function kernel(): string {
  return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
}

function osName(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

const arch = () => ({ x64: 'x86_64', arm64: 'aarch64' } as Record<string, string>)[process.arch] ?? process.arch;

function version(ctx: Ctx): void {
  const v = {
    Platform: { Name: 'Berth Engine' },
    Components: [{ Name: 'Engine', Version: '27.5.0-berth', Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: ({ x64: 'amd64' } as Record<string, string>)[process.arch] ?? process.arch, KernelVersion: kernel() } }],
    Version: '27.5.0-berth', ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: 'berth', GoVersion: `node${process.versions.node}`,
    Os: 'linux', Arch: ({ x64: 'amd64' } as Record<string, string>)[process.arch] ?? process.arch, KernelVersion: kernel(), BuildTime: '2026-11-22T00:00:00.000000000+00:00',
  };
  sendJson(res(ctx), 200, v);
}

function info(ctx: Ctx): void {
  const all = ctx.engine.containers.list(true);
  const root = ctx.engine.images.root;
  sendJson(res(ctx), 200, {
    ID: ctx.engine.images.root, Containers: all.length,
    ContainersRunning: all.filter((c) => c.State.Running && !c.State.Paused).length,
    ContainersPaused: all.filter((c) => c.State.Paused).length,
    ContainersStopped: all.filter((c) => !c.State.Running).length,
    Images: ctx.engine.images.ids().length, Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
    Plugins: { Volume: [], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true, SwapLimit: true, KernelMemory: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
    IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false, Debug: false, NFd: 0, OomKillDisable: false, NGoroutines: 0,
    SystemTime: new Date().toISOString(), LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: ctx.engine.cgroupMode === 'v2' ? '2' : '1',
    NEventsListener: 0, KernelVersion: kernel(), OperatingSystem: osName(), OSVersion: '', OSType: 'linux', Architecture: arch(),
    IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    NCPU: availableParallelism(), MemTotal: totalmem(), DockerRootDir: root, HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: hostname(),
    Labels: [], ExperimentalBuild: false, ServerVersion: '27.5.0-berth', Runtimes: { berth: { path: 'berth-helper' } }, DefaultRuntime: 'berth',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true, Isolation: '', InitBinary: '', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
    SecurityOptions: ['name=seccomp,profile=builtin', ...(ctx.engine.cgroupMode === 'v2' ? ['name=cgroupns'] : [])], Warnings: null,
  });
}

function eventMatches(e: EngineEvent, f: Map<string, string[]>): boolean {
  for (const [k, vals] of f) {
    if (!vals.length) continue;
    const a = e.Actor.Attributes;
    const ok = vals.some((v) => {
      switch (k) {
        case 'type': return e.Type === v;
        case 'event': return e.Action === v || e.Action.split(':')[0] === v;
        case 'container': return e.Type === 'container' && (e.Actor.ID.startsWith(v) || a.name === v);
        case 'image': return a.image === v || a.name === v || e.Actor.ID === v;
        case 'label': {
          const [lk, lv] = v.split('=', 2);
          return lv === undefined ? lk in a : a[lk] === v.slice(lk.length + 1);
        }
        default: throw new ApiError(400, `invalid filter '${k}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

function parseTime(v: string | null): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return n * 1e9;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ApiError(400, `invalid time: ${v}`);
  return t * 1e6;
}

async function events(ctx: Ctx): Promise<void> {
  const f = filters(q(ctx, 'filters'));
  const since = parseTime(q(ctx, 'since'));
  const until = parseTime(q(ctx, 'until'));
  const out = res(ctx);
  startStream(out);
  const send = (e: EngineEvent) => {
    if (since !== undefined && e.timeNano < since) return;
    if (until !== undefined && e.timeNano > until) return;
    if (!eventMatches(e, f)) return;
    out.write(`${JSON.stringify({ ...e, status: e.Type === 'container' || e.Type === 'image' ? e.Action : undefined, id: e.Actor.ID, from: e.Actor.Attributes.image })}\n`);
  };
  if (since !== undefined) for (const e of ctx.engine.events.recent()) send(e);
  if (until !== undefined && until <= Date.now() * 1e6) return void out.end();
  const off = ctx.engine.events.on(send);
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    ctx.req.socket.on('close', resolve);
    if (until !== undefined) timer = setTimeout(resolve, until / 1e6 - Date.now());
  });
  clearTimeout(timer);
  off();
  out.end();
}

function df(ctx: Ctx): void {
  const du = ctx.engine.imageDiskUsage();
  sendJson(res(ctx), 200, {
    LayersSize: du.LayersSize,
    Images: du.Images,
    Containers: ctx.engine.containers.list(true).map((r) => ({ Id: r.Id, Names: [r.Name], Image: r.Config.Image, ImageID: r.ImageID, Command: [r.Path, ...r.Args].join(' '), Created: Math.floor(Date.parse(r.Created) / 1000), State: r.State.Status, Status: r.State.Status, SizeRw: 0, SizeRootFs: 0, Labels: r.Config.Labels, Mounts: [] })),
    Volumes: ctx.engine.volumes.list().map((v) => ctx.engine.volumes.view(v, true)),
    BuildCache: [],
  });
}

async function auth(ctx: Ctx): Promise<void> {
  const body = await readJson<{ username?: string; password?: string; serveraddress?: string }>(ctx.req);
  if (!body.username || body.password === undefined) throw new ApiError(400, 'username and password are required');
  await ctx.engine.login(body.serveraddress || 'docker.io', body.username, body.password);
  sendJson(res(ctx), 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

const absent = (what: string) => async (ctx: Ctx) => {
  throw new ApiError(404, `${what} ${ctx.params[0] ?? ''} not found`.replace('  ', ' '));
};

export const systemRoutes: Route[] = [
  { method: 'GET', path: /^\/_ping$/, handler: ping },
  { method: 'HEAD', path: /^\/_ping$/, handler: ping },
  { method: 'GET', path: /^\/version$/, handler: async (ctx) => version(ctx) },
  { method: 'GET', path: /^\/info$/, handler: async (ctx) => info(ctx) },
  { method: 'GET', path: /^\/events$/, handler: events },
  { method: 'GET', path: /^\/system\/df$/, handler: async (ctx) => df(ctx) },
  { method: 'POST', path: /^\/auth$/, handler: auth },
  { method: 'GET', path: /^\/plugins\/([^/]+)\/json$/, handler: absent('plugin') },
];
