// /exec endpoints: create, start (taking the connection over; the JSON body may arrive together
// with the upgrade and stdin), resize, inspect.
import type { ExecConfig } from '../../common/docker.ts';
import { bridgeStdio, detachKeysOf } from './containers.ts';
import { hijack, upgradedBody } from './hijack.ts';
import { ApiError, int, readJson, sendEmpty, sendJson } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

async function create(ctx: Ctx): Promise<void> {
  const body = await readJson<Record<string, unknown>>(ctx.req);
  const cmd = body.Cmd;
  if (!Array.isArray(cmd) || !cmd.length || !cmd.every((c) => typeof c === 'string')) throw new ApiError(400, 'No exec command specified');
  const cfg: ExecConfig = {
    Cmd: cmd as string[], Env: body.Env as string[] | undefined, WorkingDir: body.WorkingDir as string | undefined, User: body.User as string | undefined,
    Tty: !!body.Tty, Privileged: !!body.Privileged, AttachStdin: !!body.AttachStdin, AttachStdout: body.AttachStdout !== false, AttachStderr: body.AttachStderr !== false,
    DetachKeys: typeof body.DetachKeys === 'string' ? body.DetachKeys : undefined,
  };
  if (cfg.DetachKeys) detachKeysOf(cfg.DetachKeys, 'escape keys');
  sendJson(res(ctx), 201, await ctx.backend.exec.create(ctx.params[0], cfg));
}

/** The start body: with an upgrade it comes in `head`, possibly followed by stdin. */
async function startBody(ctx: Ctx): Promise<{ body: { Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] }; stdin: Buffer }> {
  if (!ctx.socket) return { body: await readJson(ctx.req, true), stdin: Buffer.alloc(0) };
  const { body, rest } = await upgradedBody(ctx);
  try {
    return { body: body.length ? JSON.parse(body.toString('utf8')) : {}, stdin: rest };
  } catch {
    throw new ApiError(400, 'malformed JSON in exec start body');
  }
}

async function start(ctx: Ctx): Promise<void> {
  const before = await ctx.backend.exec.inspect(ctx.params[0]);
  const { body, stdin } = await startBody(ctx);
  const s = await ctx.backend.exec.start(ctx.params[0], { detach: body.Detach, consoleSize: body.ConsoleSize });
  if (!s) return sendEmpty(res(ctx), 200);
  const h = hijack(ctx, s.tty);
  await bridgeStdio({ ...h, head: stdin }, s, before.OpenStdin, detachKeysOf(before.DetachKeys, 'escape keys'));
}

export const execRoutes: Route[] = [
  { method: 'POST', path: /^\/containers\/([^/]+)\/exec$/, handler: create },
  { method: 'POST', path: /^\/exec\/([^/]+)\/start$/, hijack: true, handler: start },
  { method: 'POST', path: /^\/exec\/([^/]+)\/resize$/, handler: async (ctx) => {
    const h = int(q(ctx, 'h'), 'h');
    const w = int(q(ctx, 'w'), 'w');
    if (!h || !w) throw new ApiError(400, 'resize needs h and w');
    await ctx.backend.exec.resize(ctx.params[0], h, w);
    sendEmpty(res(ctx), 200);
  } },
  { method: 'GET', path: /^\/exec\/([^/]+)\/json$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.exec.inspect(ctx.params[0])) },
];
