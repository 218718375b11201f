// /_ping, /version, /info, /events, /system/df, /auth, and the absent plugin endpoints.
import type { EngineEvent, Filters } from '../../common/docker.ts';
import { API_VERSION, ApiError, commonHeaders, filters, MIN_API_VERSION, readJson, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

function ping(ctx: Ctx): Promise<void> {
  const out = res(ctx);
  out.writeHead(200, { ...commonHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1', 'Content-Length': '2' });
  out.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  return Promise.resolve();
}

async function version(ctx: Ctx): Promise<void> {
  const v = await ctx.backend.system.version();
  const withApi = (d: unknown) => ({ ...(d as object), ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION });
  const components = Array.isArray(v.Components) ? v.Components.map((c: { Details?: unknown }) => ({ ...c, Details: withApi(c.Details ?? {}) })) : v.Components;
  sendJson(res(ctx), 200, { ...v, Components: components, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION });
}

function eventMatches(e: EngineEvent, f: Filters): boolean {
  for (const [k, vals] of Object.entries(f)) {
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
  if (until !== undefined && until <= Date.now() * 1e6) {
    if (since !== undefined) for (const e of await ctx.backend.system.recentEvents()) send(e);
    return void out.end();
  }
  const off = ctx.backend.system.events(send, { since });
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    res(ctx).once('close', resolve);
    if (until !== undefined) timer = setTimeout(resolve, until / 1e6 - Date.now());
  });
  clearTimeout(timer);
  off();
  out.end();
}

async function auth(ctx: Ctx): Promise<void> {
  const body = await readJson<{ username?: string; password?: string; serveraddress?: string }>(ctx.req);
  if (!body.username || body.password === undefined) throw new ApiError(400, 'username and password are required');
  await ctx.backend.images.login(body.serveraddress || 'docker.io', { username: body.username, password: body.password });
  sendJson(res(ctx), 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

const absent = (what: string) => async (ctx: Ctx) => {
  throw new ApiError(404, `${what} ${ctx.params[0] ?? ''} not found`.replace('  ', ' '));
};

// Outside a swarm dockerd answers every swarm endpoint 503 (SDKs read a 404 as a broken
// daemon); leaving is the one with its own message.
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const SWARM_PATH = /^\/(?:swarm|services|nodes|tasks|secrets|configs)(?:\/.*)?$/;
const swarmRoutes: Route[] = ['GET', 'POST', 'DELETE'].map((method) => ({
  method, path: SWARM_PATH,
  handler: async (ctx: Ctx) => {
    throw new ApiError(503, method === 'POST' && ctx.url.pathname.endsWith('/swarm/leave') ? 'This node is not part of a swarm' : NOT_A_MANAGER);
  },
}));

export const systemRoutes: Route[] = [
  { method: 'GET', path: /^\/_ping$/, handler: ping },
  { method: 'HEAD', path: /^\/_ping$/, handler: ping },
  { method: 'GET', path: /^\/version$/, handler: version },
  { method: 'GET', path: /^\/info$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.system.info()) },
  { method: 'GET', path: /^\/events$/, handler: events },
  { method: 'GET', path: /^\/system\/df$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.system.diskUsage()) },
  { method: 'POST', path: /^\/auth$/, handler: auth },
  { method: 'POST', path: /^\/build\/prune$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.system.pruneCache()) },
  { method: 'GET', path: /^\/plugins\/([^/]+)\/json$/, handler: absent('plugin') },
  ...swarmRoutes,
];
