// /networks/… and /volumes/… endpoints in Docker's shapes.
import type { NetworkCreateOptions, VolumeCreateOptions } from '../../common/docker.ts';
import type { EndpointConfig } from '../../common/models.ts';
import { ApiError, bool, filters, readJson, sendEmpty, sendJson } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

const ID = '([^/]+)';

async function createNetwork(ctx: Ctx): Promise<void> {
  const body = await readJson<NetworkCreateOptions>(ctx.req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'network create needs a JSON object');
  sendJson(res(ctx), 201, await ctx.backend.networks.create(body));
}

async function connect(ctx: Ctx): Promise<void> {
  const body = await readJson<{ Container?: string; EndpointConfig?: EndpointConfig }>(ctx.req);
  if (!body.Container) throw new ApiError(400, 'connect needs a container');
  await ctx.backend.networks.connect(ctx.params[0], body.Container, body.EndpointConfig ?? null);
  sendEmpty(res(ctx), 200);
}

async function disconnect(ctx: Ctx): Promise<void> {
  const body = await readJson<{ Container?: string; Force?: boolean }>(ctx.req);
  if (!body.Container) throw new ApiError(400, 'disconnect needs a container');
  await ctx.backend.networks.disconnect(ctx.params[0], body.Container, !!body.Force);
  sendEmpty(res(ctx), 200);
}

export const networkRoutes: Route[] = [
  { method: 'GET', path: /^\/networks$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.networks.list(filters(q(ctx, 'filters')))) },
  { method: 'POST', path: /^\/networks\/create$/, handler: createNetwork },
  { method: 'POST', path: /^\/networks\/prune$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.networks.prune(filters(q(ctx, 'filters')))) },
  { method: 'GET', path: new RegExp(`^/networks/${ID}$`), handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.networks.inspect(ctx.params[0])) },
  { method: 'DELETE', path: new RegExp(`^/networks/${ID}$`), handler: async (ctx) => {
    await ctx.backend.networks.remove(ctx.params[0]);
    sendEmpty(res(ctx), 204);
  } },
  { method: 'POST', path: new RegExp(`^/networks/${ID}/connect$`), handler: connect },
  { method: 'POST', path: new RegExp(`^/networks/${ID}/disconnect$`), handler: disconnect },
  { method: 'GET', path: /^\/volumes$/, handler: async (ctx) => sendJson(res(ctx), 200, { Volumes: await ctx.backend.volumes.list(filters(q(ctx, 'filters'))), Warnings: null }) },
  { method: 'POST', path: /^\/volumes\/create$/, handler: async (ctx) => {
    const body = await readJson<VolumeCreateOptions>(ctx.req, true);
    sendJson(res(ctx), 201, await ctx.backend.volumes.create(body));
  } },
  { method: 'POST', path: /^\/volumes\/prune$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.volumes.prune(filters(q(ctx, 'filters')))) },
  { method: 'GET', path: new RegExp(`^/volumes/${ID}$`), handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.volumes.inspect(ctx.params[0])) },
  { method: 'DELETE', path: new RegExp(`^/volumes/${ID}$`), handler: async (ctx) => {
    await ctx.backend.volumes.remove(ctx.params[0], bool(q(ctx, 'force')));
    sendEmpty(res(ctx), 204);
  } },
];
