// The Docker Engine API on a unix socket, served from the engine. Versioned (/v1.NN/…) and
// unversioned paths; attach and exec start take the connection over (101 UPGRADED, or a
// close-delimited 200 for clients that do not ask for an upgrade).
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { dirname } from 'node:path';
import type { Backend } from '../backend/backend.ts';
import { CodedError } from '../../common/errors.ts';
import { archiveRoutes } from './archive.ts';
import { buildRoutes } from './build.ts';
import { containerRoutes } from './containers.ts';
import { execRoutes } from './exec.ts';
import { ApiError, API_VERSION, commonHeaders, errorStatus, MIN_API_VERSION, sendError } from './http.ts';
import { imageRoutes } from './images.ts';
import { networkRoutes } from './networks.ts';
import { systemRoutes } from './system.ts';
import type { Ctx, Route } from './types.ts';

export interface ApiServer {
  server: Server;
  socketPath: string;
  close(): Promise<void>;
}

function compareVersion(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** Fixed image routes come before the ones that match an image name with slashes in it. */
const ROUTES: Route[] = [...systemRoutes, ...buildRoutes, ...execRoutes, ...archiveRoutes, ...networkRoutes, ...containerRoutes, ...imageRoutes];

function match(routes: Route[], method: string, path: string): { route: Route; params: string[] } | undefined {
  for (const r of routes) {
    if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
    const m = r.path.exec(path);
    if (m) {
      try {
        return { route: r, params: m.slice(1).map((p) => decodeURIComponent(p)) };
      } catch {
        throw new ApiError(400, `malformed percent-encoding in the path ${path}`);
      }
    }
  }
  return undefined;
}

/** Writes an HTTP error on a raw socket (an upgrade request that failed before it was taken over). */
function rawError(socket: Duplex, e: unknown): void {
  const { status, message } = errorStatus(e);
  const body = JSON.stringify({ message });
  const headers = Object.entries({ ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' })
    .map(([k, v]) => `${k}: ${v}`).join('\r\n');
  socket.end(`HTTP/1.1 ${status} Error\r\n${headers}\r\n\r\n${body}`);
}

/** Whether something accepts connections on the unix socket at `path`. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startApiServer(backend: Backend, socketPath: string): Promise<ApiServer> {
  const routes = ROUTES;

  const dispatch = async (req: IncomingMessage, res: ServerResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    let path = url.pathname;
    const vm = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (vm) {
      if (compareVersion(vm[1], MIN_API_VERSION) < 0) throw new ApiError(400, `client version ${vm[1]} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      if (compareVersion(vm[1], API_VERSION) > 0) throw new ApiError(400, `client version ${vm[1]} is too new. Maximum supported API version is ${API_VERSION}`);
      path = vm[2];
    }
    const found = match(routes, req.method ?? 'GET', path);
    if (!found) throw new ApiError(404, `page not found`);
    if (socket && !found.route.hijack) throw new ApiError(400, `${path} does not upgrade the connection`);
    const ctx: Ctx = { req, res, socket, head, url, params: found.params, backend, version: vm?.[1] ?? API_VERSION };
    await found.route.handler(ctx);
  };

  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 5000 }, (req, res) => {
    dispatch(req, res, undefined, undefined).catch((e) => sendError(res, e));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    dispatch(req, undefined, socket, head).catch((e) => rawError(socket, e));
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"malformed request"}');
    else socket.destroy();
  });
  server.headersTimeout = 60_000;

  mkdirSync(dirname(socketPath), { recursive: true });
  if (existsSync(socketPath)) {
    // Another engine's live socket is never taken over; a stale one (its daemon gone) is.
    if (await socketAnswers(socketPath)) throw new CodedError('CONFLICT', `another engine is listening on ${socketPath}: stop it, or give this daemon another --socket`);
    rmSync(socketPath);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  const ownIno = statSync(socketPath).ino;
  const open = new Set<Duplex>();
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  return {
    server,
    socketPath,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of open) s.destroy();
      // Only the file this server made: a later daemon may own the path by now.
      try {
        if (statSync(socketPath).ino === ownIno) rmSync(socketPath, { force: true });
      } catch {
        /* gone already */
      }
    }),
  };
}
