// /images/… endpoints. Names contain "/" and ":", so routes match by suffix after the fixed
// ones (json, create, load, get, prune). Pull, push and load stream Docker JSON messages; an
// error after the 200 goes in-band as {"errorDetail": …, "error": …}.
import type { ProgressMessage, RegistryCredentials } from '../../common/docker.ts';
import { humanSize } from '../../common/format.ts';
import { namesTagOrDigest } from '../../common/reference.ts';
import { ApiError, bool, filters, sendJson, startStream } from './http.ts';
import { q, res, type Ctx, type Route } from './types.ts';

function progressBar(m: ProgressMessage): string | undefined {
  const d = m.progressDetail;
  if (!d?.total || d.current === undefined) return undefined;
  const width = 50;
  const filled = Math.min(width, Math.floor((d.current / d.total) * width));
  return `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}] ${humanSize(d.current)}/${humanSize(d.total)}`;
}

/** Runs a job that reports Docker JSON messages; the 200 is sent first, errors go in-band. */
async function jsonStream(ctx: Ctx, job: (emit: (m: Record<string, unknown>) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  const out = res(ctx);
  const abort = new AbortController();
  res(ctx).once('close', () => abort.abort()); // per request: a keep-alive socket outlives it
  startStream(out);
  const emit = (m: Record<string, unknown>) => {
    if (!out.destroyed) out.write(`${JSON.stringify(m)}\r\n`);
  };
  try {
    await job(emit, abort.signal);
  } catch (e) {
    const message = (e as Error).message;
    emit({ errorDetail: { message }, error: message });
  }
  out.end();
}

const progress = (emit: (m: Record<string, unknown>) => void) => (m: ProgressMessage) => emit({ ...m, progress: progressBar(m) });

/**
 * X-Registry-Auth: base64url JSON with username/password or an identitytoken (what the CLI
 * sends from its own store). Absent or empty (`{}`): the daemon's saved credentials apply.
 */
export function registryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  if (typeof header !== 'string' || !header) return undefined;
  let v: { username?: unknown; password?: unknown; identitytoken?: unknown };
  try {
    v = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw new ApiError(400, 'invalid X-Registry-Auth header: it must be base64url-encoded JSON');
  }
  if (typeof v !== 'object' || v === null) throw new ApiError(400, 'invalid X-Registry-Auth header: it must be a JSON object');
  if (typeof v.identitytoken === 'string' && v.identitytoken) return { username: '', password: '', identityToken: v.identitytoken };
  return typeof v.username === 'string' && v.username && typeof v.password === 'string' ? { username: v.username, password: v.password } : undefined;
}

async function create(ctx: Ctx): Promise<void> {
  const from = q(ctx, 'fromImage');
  const src = q(ctx, 'fromSrc');
  if (src !== null) {
    if (src !== '-') throw new ApiError(400, 'importing from a URL is not supported: send the tarball as the request body (fromSrc=-)');
    const repo = q(ctx, 'repo');
    const tag = q(ctx, 'tag');
    return jsonStream(ctx, async (emit) => {
      emit({ status: await ctx.backend.images.import(ctx.req, { ref: repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined, comment: q(ctx, 'message') ?? undefined }) });
    });
  }
  if (!from) throw new ApiError(400, 'fromImage or fromSrc is required');
  const tag = q(ctx, 'tag');
  const ref = tag ? (tag.startsWith('sha256:') ? `${from}@${tag}` : `${from}:${tag}`) : from;
  // As dockerd: a bare name with no tag parameter means every tag (`docker pull -a`).
  const allTags = !tag && !namesTagOrDigest(from);
  const platform = q(ctx, 'platform');
  const credentials = registryAuth(ctx.req.headers['x-registry-auth']);
  return jsonStream(ctx, async (emit, signal) => {
    const [os, architecture, variant] = (platform || '').split('/');
    await ctx.backend.images.pull(ref, { onProgress: progress(emit), signal, platform: platform ? { os, architecture, variant } : undefined, credentials, allTags });
  });
}

async function push(ctx: Ctx): Promise<void> {
  const name = ctx.params[0];
  const tag = q(ctx, 'tag');
  const ref = tag ? `${name}:${tag}` : name;
  await ctx.backend.images.inspect(ref);
  const credentials = registryAuth(ctx.req.headers['x-registry-auth']);
  return jsonStream(ctx, async (emit, signal) => {
    const r = await ctx.backend.images.push(ref, { onProgress: progress(emit), credentials, signal });
    emit({ progressDetail: {}, aux: { Tag: r.tag, Digest: r.digest, Size: r.size } });
  });
}

async function save(ctx: Ctx, names: string[]): Promise<void> {
  if (!names.length) throw new ApiError(400, 'no image names given');
  const stream = await ctx.backend.images.save(names);
  const out = res(ctx);
  out.writeHead(200, { 'Content-Type': 'application/x-tar', 'Api-Version': '1.47' });
  stream.on('error', () => out.destroy());
  stream.pipe(out);
  await new Promise((resolve) => out.on('close', resolve));
}

async function load(ctx: Ctx): Promise<void> {
  return jsonStream(ctx, async (emit) => {
    for (const m of await ctx.backend.images.load(ctx.req)) emit({ stream: `${m}\n` });
  });
}

export const imageRoutes: Route[] = [
  { method: 'GET', path: /^\/images\/json$/, handler: async (ctx) => {
    sendJson(res(ctx), 200, await ctx.backend.images.list({ all: bool(q(ctx, 'all')), filters: filters(q(ctx, 'filters')), sharedSize: bool(q(ctx, 'shared-size')) }));
  } },
  { method: 'POST', path: /^\/images\/create$/, handler: create },
  { method: 'POST', path: /^\/images\/load$/, handler: load },
  { method: 'GET', path: /^\/images\/get$/, handler: (ctx) => save(ctx, ctx.url.searchParams.getAll('names')) },
  { method: 'POST', path: /^\/images\/prune$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.images.prune({ filters: filters(q(ctx, 'filters')) })) },
  { method: 'GET', path: /^\/images\/(.+)\/json$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.images.inspect(ctx.params[0])) },
  { method: 'GET', path: /^\/images\/(.+)\/history$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.images.history(ctx.params[0])) },
  { method: 'GET', path: /^\/images\/(.+)\/get$/, handler: (ctx) => save(ctx, [ctx.params[0]]) },
  { method: 'POST', path: /^\/images\/(.+)\/tag$/, handler: async (ctx) => {
    const repo = q(ctx, 'repo');
    if (!repo) throw new ApiError(400, 'repo is required');
    const tag = q(ctx, 'tag');
    await ctx.backend.images.tag(ctx.params[0], tag ? `${repo}:${tag}` : repo);
    sendJson(res(ctx), 201, {});
  } },
  { method: 'POST', path: /^\/images\/(.+)\/push$/, handler: push },
  { method: 'DELETE', path: /^\/images\/(.+)$/, handler: async (ctx) => sendJson(res(ctx), 200, await ctx.backend.images.remove(ctx.params[0], { force: bool(q(ctx, 'force')) })) },
];
