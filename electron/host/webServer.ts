// Web mode: serves the built UI and the contract over a WebSocket on a loopback address.
// Every request needs the random token printed in the URL; Host must name exactly the address
// we listen on, which keeps DNS-rebinding pages out, and a browser's WebSocket must come from
// the page we served (its Origin). The token may live in a file: rewriting it (berth web
// rotate-token) takes effect at once and closes every open session.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';
import type { Connection, ConnectionFactory } from './contractSocket.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.map': 'application/json',
};
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface WebServer {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the UI; each WebSocket gets a contract connection from `connect` (in process, or a relay to the engine). */
/**
 * The web token kept in `file` (made when missing, or anew with `rotate`), readable by its
 * owner only: a file found with another mode is repaired.
 */
export function ensureTokenFile(file: string, rotate = false): string {
  mkdirSync(dirname(file), { recursive: true });
  const old = !rotate && existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  const token = old || randomBytes(24).toString('base64url');
  writeFileSync(file, token, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

export function isLoopback(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address === 'localhost';
}

export async function startWebServer(connect: ConnectionFactory, opts: { listen: string; uiDir: string; token?: string; tokenFile?: string; allowRemote?: boolean }): Promise<WebServer> {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(opts.listen);
  if (!m) throw new Error(`--web wants ADDRESS:PORT, got ${opts.listen}`);
  const address = m[1].replace(/^\[|\]$/g, '');
  if (!isLoopback(address) && !opts.allowRemote) {
    throw new Error(`--web ${opts.listen} is not a loopback address: web mode is plain HTTP with the token in the URL, so anyone on that network could read it; `
      + 'use 127.0.0.1, or add --web-allow-remote to accept that risk');
  }
  if (!existsSync(join(opts.uiDir, 'index.html'))) throw new Error(`the UI is not built (${opts.uiDir}/index.html is missing): run npm install`);
  let token = opts.token ?? (opts.tokenFile ? readFileSync(opts.tokenFile, 'utf8').trim() : randomBytes(24).toString('base64url'));
  const tokenOk = (url: URL) => {
    const want = Buffer.from(token);
    const got = Buffer.from(url.searchParams.get('token') ?? '');
    return got.length === want.length && timingSafeEqual(got, want);
  };
  let port = 0;
  const shown = address.includes(':') ? `[${address}]` : address;
  const hostOk = (req: IncomingMessage) => req.headers.host === `${shown}:${port}`;
  // A browser always sends Origin on a WebSocket: it must be the page we served. Other clients
  // send none and are held by the token alone.
  const originOk = (req: IncomingMessage) => req.headers.origin === undefined || req.headers.origin === `http://${shown}:${port}`;
  const server: Server = createServer((req, res) => serve(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 << 20 });
  const connections = new Set<Connection>();

  function serve(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!hostOk(req)) return deny(res, 403, 'wrong Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(res, 405, 'method not allowed');
    const path = url.pathname === '/' ? '/index.html' : url.pathname;
    if (path === '/index.html' && !tokenOk(url)) {
      return deny(res, 401, 'Berth web mode needs the token from the URL that `berth daemon --web` printed.');
    }
    const file = normalize(join(opts.uiDir, path));
    if (!file.startsWith(opts.uiDir + '/') || !existsSync(file) || !statSync(file).isFile()) return deny(res, 404, 'not found');
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws' || !hostOk(req) || !tokenOk(url)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nmissing or wrong token\n');
      return;
    }
    if (!originOk(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe WebSocket must come from the page this server served\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = connect({ send: (msg) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(msg)) });
      connections.add(conn);
      ws.on('message', (data) => {
        try {
          conn.receive(JSON.parse(String(data)));
        } catch {
          ws.close(1003, 'messages are JSON');
        }
      });
      ws.on('close', () => {
        conn.dispose();
        connections.delete(conn);
      });
      ws.on('error', () => undefined);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), address, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  let watcher: FSWatcher | undefined;
  if (opts.tokenFile) {
    const file = opts.tokenFile;
    watcher = watch(file, () => {
      let now: string;
      try {
        now = readFileSync(file, 'utf8').trim();
      } catch {
        return;
      }
      if (!now || now === token) return;
      token = now;
      // A rotated token revokes the sessions opened with the old one.
      for (const ws of wss.clients) ws.close(4001, 'the web token was rotated');
    });
  }
  return {
    get url() {
      return `http://${shown}:${port}/?token=${token}`;
    },
    get token() {
      return token;
    },
    port,
    close: () => new Promise<void>((resolve) => {
      watcher?.close();
      for (const c of connections) c.dispose();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function deny(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}
