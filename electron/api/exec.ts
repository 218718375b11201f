// /exec endpoints: create, start (taking the connection over; the JSON body may arrive together
// with the upgrade and stdin), resize, inspect with the exit code recorded before the stream closes.
import { randomBytes } from 'node:crypto';
import pty from 'node-pty';
import { spawnPipes } from './execSpawn.ts';
import { frame, hijack } from './hijack.ts';
import { ApiError, bool, int, readJson, sendEmpty, sendJson } from './http.ts';
import { q, res, type Ctx, type ExecRecord, type Route } from './types.ts';

function execOf(ctx: Ctx): ExecRecord {
  const e = ctx.state.execs.get(ctx.params[0]);
  if (!e) throw new ApiError(404, `No such exec instance: ${ctx.params[0]}`);
  return e;
}

async function create(ctx: Ctx): Promise<void> {
  const r = ctx.engine.containers.get(ctx.params[0]);
  const body = await readJson<Record<string, unknown>>(ctx.req);
  const cmd = body.Cmd;
  if (!Array.isArray(cmd) || !cmd.length || !cmd.every((c) => typeof c === 'string')) throw new ApiError(400, 'No exec command specified');
  if (!r.State.Running) throw new ApiError(409, `container ${r.Id} is not running`);
  if (r.State.Paused) throw new ApiError(409, `container ${r.Id} is paused, unpause the container before exec`);
  const id = randomBytes(32).toString('hex');
  const opts = {
    Cmd: cmd as string[], Env: body.Env as string[] | undefined, WorkingDir: body.WorkingDir as string | undefined, User: body.User as string | undefined,
    Tty: !!body.Tty, Privileged: !!body.Privileged, AttachStdin: !!body.AttachStdin, AttachStdout: body.AttachStdout !== false, AttachStderr: body.AttachStderr !== false,
  };
  ctx.state.execs.set(id, {
    ID: id, ContainerID: r.Id, Running: false, ExitCode: null, Pid: 0,
    ProcessConfig: { tty: opts.Tty, entrypoint: opts.Cmd[0], arguments: opts.Cmd.slice(1), privileged: opts.Privileged, user: opts.User ?? '' },
    OpenStdin: opts.AttachStdin, OpenStderr: opts.AttachStderr, OpenStdout: opts.AttachStdout, CanRemove: false, DetachKeys: '', opts,
  });
  ctx.engine.events.emit('container', `exec_create: ${opts.Cmd.join(' ')}`, r.Id, { execID: id });
  sendJson(res(ctx), 201, { Id: id });
}

async function start(ctx: Ctx): Promise<void> {
  const e = execOf(ctx);
  if (e.Running || e.ExitCode !== null) throw new ApiError(409, `exec ${e.ID} has already run`);
  // With an upgrade the JSON body comes in `head`, possibly followed by stdin.
  let body: { Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] } = {};
  let stdinHead: Buffer = Buffer.alloc(0);
  if (ctx.socket) {
    const len = Number(ctx.req.headers['content-length'] ?? 0);
    let head: Buffer = ctx.head ?? Buffer.alloc(0);
    while (head.length < len) {
      const more: Buffer = await new Promise((resolve) => ctx.socket!.once('data', resolve));
      head = Buffer.concat([head, more]);
    }
    try {
      body = len ? JSON.parse(head.subarray(0, len).toString('utf8')) : {};
    } catch {
      throw new ApiError(400, 'malformed JSON in exec start body');
    }
    stdinHead = head.subarray(len);
  } else {
    body = await readJson(ctx.req, true);
  }
  const tty = e.opts.Tty;
  const prep = ctx.engine.prepareExec(e.ContainerID, { ...e.opts, ConsoleSize: body.ConsoleSize });
  e.Running = true;
  ctx.engine.events.emit('container', `exec_start: ${e.opts.Cmd.join(' ')}`, e.ContainerID, { execID: e.ID });
  const finish = (code: number) => {
    const err = prep.cleanup().error;
    e.ExitCode = err ? (/not found|no such file/i.test(err) ? 127 : 126) : code;
    e.Running = false;
    ctx.engine.events.emit('container', 'exec_die', e.ContainerID, { execID: e.ID, exitCode: String(e.ExitCode) });
    return err;
  };
  if (body.Detach) {
    const child = spawnPipes(prep);
    child.stdin?.end();
    child.on('close', (code) => finish(code ?? 1));
    return sendEmpty(res(ctx), 200);
  }
  const h = hijack(ctx, tty);
  await new Promise<void>((resolve) => {
    if (tty) {
      const [rows, cols] = body.ConsoleSize ?? [24, 80];
      const term = pty.spawn(prep.helper, prep.args, { rows: rows || 24, cols: cols || 80, name: 'xterm' });
      e.Pid = term.pid;
      e.resize = (r2, c2) => term.resize(c2, r2);
      term.onData((d) => h.out.write(d));
      if (stdinHead.length) term.write(stdinHead.toString('utf8'));
      h.input.on('data', (d: Buffer) => term.write(d.toString('utf8')));
      term.onExit(({ exitCode }) => {
        const err = finish(exitCode);
        if (err) h.out.write(`${err}\r\n`);
        resolve();
      });
      return;
    }
    {
      const child = spawnPipes(prep);
      e.Pid = child.pid ?? 0;
      child.stdout!.on('data', (d: Buffer) => e.opts.AttachStdout && h.out.write(frame(1, d)));
      child.stderr!.on('data', (d: Buffer) => e.opts.AttachStderr && h.out.write(frame(2, d)));
      child.stdin!.on('error', () => undefined);
      if (e.opts.AttachStdin) {
        if (stdinHead.length) child.stdin!.write(stdinHead);
        h.input.on('data', (d: Buffer) => child.stdin!.write(d));
        h.input.on('end', () => child.stdin!.end());
      } else {
        child.stdin!.end();
      }
      child.on('close', (code) => {
        const err = finish(code ?? 1);
        if (err) h.out.write(frame(2, Buffer.from(`${err}\n`)));
        resolve();
      });
    }
  });
  h.close();
}

export const execRoutes: Route[] = [
  { method: 'POST', path: /^\/containers\/([^/]+)\/exec$/, handler: create },
  { method: 'POST', path: /^\/exec\/([^/]+)\/start$/, hijack: true, handler: start },
  { method: 'POST', path: /^\/exec\/([^/]+)\/resize$/, handler: async (ctx) => {
    const e = execOf(ctx);
    const h = int(q(ctx, 'h'), 'h');
    const w = int(q(ctx, 'w'), 'w');
    if (!h || !w) throw new ApiError(400, 'resize needs h and w');
    if (!e.Running) throw new ApiError(409, `exec ${e.ID} is not running`);
    e.resize?.(h, w);
    sendEmpty(res(ctx), 200);
  } },
  { method: 'GET', path: /^\/exec\/([^/]+)\/json$/, handler: async (ctx) => {
    const e = execOf(ctx);
    sendJson(res(ctx), 200, {
      ID: e.ID, ContainerID: e.ContainerID, Running: e.Running, ExitCode: e.ExitCode, Pid: e.Pid, ProcessConfig: e.ProcessConfig,
      OpenStdin: e.OpenStdin, OpenStderr: e.OpenStderr, OpenStdout: e.OpenStdout, CanRemove: bool(null), DetachKeys: e.DetachKeys,
    });
  } },
];
