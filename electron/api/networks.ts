// /networks/… and /volumes/… endpoints in Docker's shapes.
import type { EndpointConfig } from '../../common/models.ts';
import type { NetworkCreateOptions, NetworkRecord } from '../engine/network/networkService.ts';
import type { VolumeRecord } from '../engine/volumes/volumeService.ts';
import { ApiError, bool, filters, readJson, sendEmpty, sendJson } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

const ID = '([^/]+)';

function labelMatch(labels: Record<string, string>, v: string): boolean {
  const eq = v.indexOf('=');
  return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
}

function networkMatches(n: NetworkRecord, f: Map<string, string[]>): boolean {
  for (const [key, values] of f) {
    if (!values.length) continue;
    const ok = values[key === 'label' ? 'every' : 'some']((v) => {
      switch (key) {
        case 'name': return n.Name.includes(v);
        case 'id': return n.Id.startsWith(v);
        case 'driver': return n.Driver === v;
        case 'label': return labelMatch(n.Labels, v);
        case 'type': return v === 'builtin' ? ['bridge', 'host', 'none'].includes(n.Name) : v === 'custom' && !['bridge', 'host', 'none'].includes(n.Name);
        case 'scope': return v === 'local';
        case 'dangling': return true;
        default: throw new ApiError(400, `invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

function volumeMatches(ctx: Ctx, v: VolumeRecord, f: Map<string, string[]>): boolean {
  for (const [key, values] of f) {
    if (!values.length) continue;
    const ok = values[key === 'label' ? 'every' : 'some']((val) => {
      switch (key) {
        case 'name': return v.Name.includes(val);
        case 'driver': return val === 'local';
        case 'label': return labelMatch(v.Labels, val);
        case 'dangling': return bool(val) === (ctx.engine.volumes.users(v.Name).length === 0);
        case 'all': return true;
        default: throw new ApiError(400, `invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

async function createNetwork(ctx: Ctx): Promise<void> {
  const body = await readJson<NetworkCreateOptions>(ctx.req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'network create needs a JSON object');
  const n = await ctx.engine.networks.create(body);
  sendJson(res(ctx), 201, { Id: n.Id, Warning: '' });
}

async function connect(ctx: Ctx): Promise<void> {
  const body = await readJson<{ Container?: string; EndpointConfig?: EndpointConfig }>(ctx.req);
  if (!body.Container) throw new ApiError(400, 'connect needs a container');
  await ctx.engine.networks.connect(ctx.params[0], body.Container, body.EndpointConfig ?? null);
  sendEmpty(res(ctx), 200);
}

async function disconnect(ctx: Ctx): Promise<void> {
  const body = await readJson<{ Container?: string; Force?: boolean }>(ctx.req);
  if (!body.Container) throw new ApiError(400, 'disconnect needs a container');
  await ctx.engine.networks.disconnect(ctx.params[0], body.Container, !!body.Force);
  sendEmpty(res(ctx), 200);
}

async function pruneNetworks(ctx: Ctx): Promise<void> {
  const f = filters(q(ctx, 'filters'));
  const labels = f.get('label') ?? [];
  const until = f.get('until')?.[0];
  const removed = await ctx.engine.networks.prune((n) => labels.every((l) => labelMatch(n.Labels, l)) &&
    (!until || Date.parse(n.Created) < (/^\d+$/.test(until) ? Number(until) * 1000 : Date.parse(until))));
  sendJson(res(ctx), 200, { NetworksDeleted: removed });
}

async function createVolume(ctx: Ctx): Promise<void> {
  const body = await readJson<{ Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }>(ctx.req, true);
  const v = ctx.engine.volumes.create(body, !body.Name);
  sendJson(res(ctx), 201, ctx.engine.volumes.view(v));
}

async function pruneVolumes(ctx: Ctx): Promise<void> {
  const f = filters(q(ctx, 'filters'));
  const all = bool(f.get('all')?.[0]);
  const labels = f.get('label') ?? [];
  const out = ctx.engine.volumes.prune(all, (v) => labels.every((l) => labelMatch(v.Labels, l)));
  sendJson(res(ctx), 200, { VolumesDeleted: out.names, SpaceReclaimed: out.reclaimed });
}

export const networkRoutes: Route[] = [
  { method: 'GET', path: /^\/networks$/, handler: async (ctx) => {
    const f = filters(q(ctx, 'filters'));
    sendJson(res(ctx), 200, ctx.engine.networks.list().filter((n) => networkMatches(n, f)).map((n) => ctx.engine.networks.view(n)));
  } },
  { method: 'POST', path: /^\/networks\/create$/, handler: createNetwork },
  { method: 'POST', path: /^\/networks\/prune$/, handler: pruneNetworks },
  { method: 'GET', path: new RegExp(`^/networks/${ID}$`), handler: async (ctx) => sendJson(res(ctx), 200, ctx.engine.networks.view(ctx.engine.networks.get(ctx.params[0]))) },
  { method: 'DELETE', path: new RegExp(`^/networks/${ID}$`), handler: async (ctx) => {
    await ctx.engine.networks.remove(ctx.params[0]);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/networks/${ID}/connect$`), handler: connect },
  { method: 'POST', path: new RegExp(`^/networks/${ID}/disconnect$`), handler: disconnect },
  { method: 'GET', path: /^\/volumes$/, handler: async (ctx) => {
    const f = filters(q(ctx, 'filters'));
    const vols = ctx.engine.volumes.list().filter((v) => volumeMatches(ctx, v, f)).map((v) => ctx.engine.volumes.view(v));
    sendJson(res(ctx), 200, { Volumes: vols, Warnings: null });
  } },
  { method: 'POST', path: /^\/volumes\/create$/, handler: createVolume },
  { method: 'POST', path: /^\/volumes\/prune$/, handler: pruneVolumes },
  { method: 'GET', path: new RegExp(`^/volumes/${ID}$`), handler: async (ctx) => sendJson(res(ctx), 200, ctx.engine.volumes.view(ctx.engine.volumes.get(ctx.params[0]))) },
  { method: 'DELETE', path: new RegExp(`^/volumes/${ID}$`), handler: async (ctx) => {
    ctx.engine.volumes.remove(ctx.params[0], bool(q(ctx, 'force')));
    sendEmpty(res(ctx), 204);
  } },
];
