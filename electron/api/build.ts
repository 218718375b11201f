// POST /build (the classic builder's protocol, `version=1`) and POST /commit. The build stream is
// dockerd's: one JSON object and "\r\n" per message, the 200 held back until the first output so
// that errors found before it (a parse error, an empty Dockerfile, an unknown target) are HTTP
// errors, and a failed RUN ends the stream with its exit code in errorDetail.code.
import { randomBytes } from 'node:crypto';
import type { ProgressMessage } from '../../common/docker.ts';
import { ChannelAgents } from './agentChannel.ts';
import { hijack, upgradedBody } from './hijack.ts';
import { ApiError, bool, readBody, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

function jsonParam<T>(ctx: Ctx, name: string, check: (v: unknown) => boolean, what: string): T | undefined {
  const raw = q(ctx, name);
  if (raw === null || raw === '' || raw === 'null') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ApiError(400, `invalid ${name} parameter: ${what}`);
  }
  if (v === null) return undefined;
  if (!check(v)) throw new ApiError(400, `invalid ${name} parameter: ${what}`);
  return v as T;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (ctx: Ctx, name: string) => {
  const v = q(ctx, name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ApiError(400, `invalid ${name} parameter: ${v} is not a number`);
  return n;
};

/**
 * Berth's extension for what the classic protocol cannot carry: a build's secrets and SSH keys
 * (or the sockets of running SSH agents on the engine's machine, relayed read-only),
 * sent first (POST /berth/build-credentials) and named by the build (berthcredentials=<token>).
 * Held in memory only, for one build, for at most five minutes. The app's remote-engine client
 * uses it; a dockerd answers 404, so nothing is ever sent to an engine that would not use it so.
 */
interface Credentials {
  secrets?: Record<string, Uint8Array>;
  ssh?: Record<string, Uint8Array[]>;
  sshAgents?: Record<string, string>;
}
const credentials = new Map<string, Credentials>();
const CREDENTIALS_TTL = 5 * 60_000;
const CREDENTIALS_MAX = 16 << 20;

async function buildCredentials(ctx: Ctx): Promise<void> {
  let v: unknown;
  try {
    v = JSON.parse((await readBody(ctx.req, CREDENTIALS_MAX)).toString('utf8'));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(400, 'build credentials: the body must be JSON: {"secrets": {id: base64}, "ssh": {id: [base64, …]}}');
  }
  const b64 = (x: unknown, what: string) => {
    if (typeof x !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(x)) throw new ApiError(400, `build credentials: ${what} must be base64`);
    return Buffer.from(x, 'base64');
  };
  if (!isMap(v) || [v.secrets, v.ssh, v.sshAgents].some((x) => x !== undefined && !isMap(x))) {
    throw new ApiError(400, 'build credentials: the body must be {"secrets": {id: base64}, "ssh": {id: [base64, …]}, "sshAgents": {id: socket path}}');
  }
  const c: Credentials = {};
  if (isMap(v.secrets)) c.secrets = Object.fromEntries(Object.entries(v.secrets).map(([id, x]) => [id, b64(x, `secret ${id}`)]));
  if (isMap(v.ssh)) {
    c.ssh = Object.fromEntries(Object.entries(v.ssh).map(([id, list]) => {
      if (!Array.isArray(list)) throw new ApiError(400, `build credentials: ssh ${id} must be a list of base64 key files`);
      return [id, list.map((x) => b64(x, `ssh key ${id}`))];
    }));
  }
  if (isMap(v.sshAgents)) {
    c.sshAgents = Object.fromEntries(Object.entries(v.sshAgents).map(([id, path]) => {
      if (typeof path !== 'string' || !path.startsWith('/')) throw new ApiError(400, `build credentials: sshAgents ${id} must be the absolute path of an SSH agent's socket`);
      if (c.ssh?.[id]) throw new ApiError(400, `build credentials: ssh ${id} has both key files and an agent: give one`);
      return [id, path];
    }));
  }
  const token = randomBytes(16).toString('hex');
  credentials.set(token, c);
  setTimeout(() => credentials.delete(token), CREDENTIALS_TTL).unref();
  sendJson(res(ctx), 201, { Token: token });
}

/**
 * An agent channel for the build that names these credentials (common/agentChannel.ts): each id
 * becomes an agent socket here, relayed to the app's agent through the upgraded connection, for
 * as long as it stays open.
 */
async function buildAgents(ctx: Ctx): Promise<void> {
  const token = q(ctx, 'token') ?? '';
  const c = credentials.get(token);
  if (!c) throw new ApiError(400, `build credentials ${token.slice(0, 8)}… are unknown or expired: send them again (POST /berth/build-credentials), then open the agent channel`);
  const ids = [...new Set(ctx.url.searchParams.getAll('id'))];
  if (!ids.length || ids.length > 16 || ids.some((id) => !/^[\w.-]{1,64}$/.test(id))) throw new ApiError(400, 'build agents: give 1 to 16 ids (letters, digits, ".", "_", "-"), as id=default&id=…');
  for (const id of ids) if (c.ssh?.[id] || c.sshAgents?.[id]) throw new ApiError(400, `build agents: ssh ${id} has key files or an agent already: give one`);
  if (!ctx.socket) throw new ApiError(400, 'build agents: the channel is an upgraded connection (Connection: Upgrade, Upgrade: tcp)');
  const { rest } = await upgradedBody(ctx); // a body (a client's "{}") is nothing of the channel's
  const agents = await ChannelAgents.open(ids, ctx.socket, rest);
  c.sshAgents = { ...c.sshAgents, ...agents.paths };
  hijack(ctx, true);
}

/** The credentials a build names, taken (they serve one build). */
function takeCredentials(ctx: Ctx): Credentials {
  const token = q(ctx, 'berthcredentials');
  if (!token) return {};
  const c = credentials.get(token);
  if (!c) throw new ApiError(400, `build credentials ${token.slice(0, 8)}… are unknown or expired: send them again (POST /berth/build-credentials) just before the build`);
  credentials.delete(token);
  return c;
}

async function build(ctx: Ctx): Promise<void> {
  const version = q(ctx, 'version');
  if (version === '2' || q(ctx, 'remote') === 'client-session' || q(ctx, 'session')) {
    throw new ApiError(400, "BuildKit builds (version=2) are not supported: Berth builds with the classic protocol; set DOCKER_BUILDKIT=0 (docker build, compose) or use a client without buildx");
  }
  if (q(ctx, 'remote')) throw new ApiError(400, 'building from a remote URL is not supported: send the context as the request body');
  if (bool(q(ctx, 'squash'))) throw new ApiError(400, 'squash is only supported with experimental mode');
  const isolation = q(ctx, 'isolation');
  if (isolation && isolation !== 'default') throw new ApiError(400, `invalid isolation "${isolation}": Linux only supports default`);
  const tags = [...new Set(ctx.url.searchParams.getAll('t').filter(Boolean))];
  const buildArgs = jsonParam<Record<string, string | null>>(ctx, 'buildargs', (v) => isMap(v) && Object.values(v as object).every((x) => x === null || typeof x === 'string'), 'a JSON object of strings');
  const labels = jsonParam<Record<string, string>>(ctx, 'labels', (v) => isMap(v) && Object.values(v as object).every((x) => typeof x === 'string'), 'a JSON object of strings');
  const cacheFrom = jsonParam<string[]>(ctx, 'cachefrom', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'a JSON array of image names');
  const platform = q(ctx, 'platform') || undefined;
  const quiet = bool(q(ctx, 'q'));
  const { secrets, ssh, sshAgents } = takeCredentials(ctx);
  const out = res(ctx);
  let started = false;
  const held: Record<string, unknown>[] = [];
  /** The 200 goes with the first message: errors before it are the request's (HTTP errors). */
  const send = (m: Record<string, unknown>) => {
    if (!started) {
      startStream(out);
      started = true;
    }
    if (!out.destroyed) out.write(`${JSON.stringify(m)}\r\n`);
  };
  // With q=1 the log is held back: only the image id on success, all of it before an error.
  const emit = (m: Record<string, unknown>) => (quiet ? held.push(m) : send(m));
  const abort = new AbortController();
  // A client that goes away cancels the build: its connection closes (keep-alive reuses it otherwise).
  const socket = ctx.req.socket;
  const onGone = () => abort.abort();
  socket.once('close', onGone);
  out.once('finish', () => socket.off('close', onGone));
  let id: string;
  try {
    id = await ctx.backend.images.build(ctx.req, {
      dockerfile: ctx.url.searchParams.getAll('dockerfile')[0] || undefined,
      tags, buildArgs, labels, target: q(ctx, 'target') || undefined, nocache: bool(q(ctx, 'nocache')), pull: bool(q(ctx, 'pull')),
      rm: q(ctx, 'rm') === null ? true : bool(q(ctx, 'rm')), forcerm: bool(q(ctx, 'forcerm')), cacheFrom,
      networkMode: q(ctx, 'networkmode') || undefined, extraHosts: ctx.url.searchParams.getAll('extrahosts').filter(Boolean),
      shmSize: num(ctx, 'shmsize'), memory: num(ctx, 'memory'), memswap: num(ctx, 'memswap'), cpuShares: num(ctx, 'cpushares'),
      cpusetCpus: q(ctx, 'cpusetcpus') || undefined, cpuQuota: num(ctx, 'cpuquota'), cpuPeriod: num(ctx, 'cpuperiod'), platform, secrets, ssh, sshAgents,
    }, {
      stream: (text) => emit({ stream: text }),
      aux: (v) => emit({ aux: v }),
      progress: (m: ProgressMessage) => emit({ ...m }),
    }, abort.signal);
  } catch (e) {
    if (!started && !held.length) throw e;
    for (const m of held.splice(0)) send(m);
    const message = (e as Error).message;
    const code = (e as { exitCode?: number }).exitCode;
    send({ errorDetail: { message, ...(code !== undefined ? { code } : {}) }, error: message });
    out.end();
    return;
  }
  if (quiet) {
    send({ stream: `${id}\n` });
  } else {
    emit({ stream: `Successfully built ${id.slice(7, 19)}\n` });
    for (const t of tags) emit({ stream: `Successfully tagged ${t.includes(':') || t.includes('@') ? t : `${t}:latest`}\n` });
  }
  out.end();
}

async function commit(ctx: Ctx): Promise<void> {
  const container = q(ctx, 'container');
  if (!container) throw new ApiError(400, 'container is required: the name or id of the container to commit');
  const body = await readBody(ctx.req);
  let config: Record<string, unknown> | undefined;
  if (body.length) {
    try {
      const v: unknown = JSON.parse(body.toString('utf8'));
      if (v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new Error('not an object');
      config = v && Object.keys(v).length ? (v as Record<string, unknown>) : undefined;
    } catch (e) {
      throw new ApiError(400, `malformed JSON in request body: ${(e as Error).message}`);
    }
  }
  const pause = q(ctx, 'pause');
  const r = await ctx.backend.images.commit(container, {
    repo: q(ctx, 'repo') || undefined, tag: q(ctx, 'tag') || undefined, comment: q(ctx, 'comment') || undefined, author: q(ctx, 'author') || undefined,
    changes: ctx.url.searchParams.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim()),
    pause: pause === null ? true : bool(pause), config,
  });
  sendJson(res(ctx), 201, r);
}

export const buildRoutes: Route[] = [
  { method: 'POST', path: /^\/build$/, handler: build },
  { method: 'POST', path: /^\/commit$/, handler: commit },
  { method: 'POST', path: /^\/berth\/build-credentials$/, handler: buildCredentials },
  { method: 'POST', path: /^\/berth\/build-agents$/, hijack: true, handler: buildAgents },
];
