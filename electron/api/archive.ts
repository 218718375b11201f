// The container filesystem endpoints: archive HEAD/GET/PUT (`docker cp`), export, changes (`docker diff`).
import { pipeline } from 'node:stream/promises';
import { ApiError, commonHeaders, sendEmpty, sendJson } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

const ID = '([^/]+)';

function pathParam(ctx: Ctx): string {
  const p = q(ctx, 'path');
  if (!p) throw new ApiError(400, 'path is required');
  if (p.includes('\0')) throw new ApiError(400, 'path contains a NUL byte');
  return p;
}

function statHeader(stat: object): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export const archiveRoutes: Route[] = [
  { method: 'HEAD', path: new RegExp(`^/containers/${ID}/archive$`), handler: async (ctx) => {
    const stat = await ctx.backend.containers.archiveStat(ctx.params[0], pathParam(ctx));
    res(ctx).writeHead(200, { ...commonHeaders(), 'X-Docker-Container-Path-Stat': statHeader(stat) });
    res(ctx).end();
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/archive$`), handler: async (ctx) => {
    const a = await ctx.backend.containers.archiveGet(ctx.params[0], pathParam(ctx));
    res(ctx).writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': statHeader(a.stat) });
    await pipeline(a.tar, res(ctx)).catch(() => res(ctx).destroy());
  } },
  { method: 'PUT', path: new RegExp(`^/containers/${ID}/archive$`), handler: async (ctx) => {
    await ctx.backend.containers.archivePut(ctx.params[0], pathParam(ctx), ctx.req);
    sendEmpty(res(ctx), 200);
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/export$`), handler: async (ctx) => {
    const tar = await ctx.backend.containers.export(ctx.params[0]);
    res(ctx).writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar' });
    await pipeline(tar, res(ctx)).catch(() => res(ctx).destroy());
  } },
  { method: 'GET', path: new RegExp(`^/containers/${ID}/changes$`), handler: async (ctx) => {
    const c = await ctx.backend.containers.changes(ctx.params[0]);
    sendJson(res(ctx), 200, c.length ? c : null);
  } },
];
