// How a Docker API client reaches an engine, as the docker CLI does: a unix socket, tcp (with
// TLS client certificates when the endpoint has them), or `ssh://[user@]host[:port]` through the
// system's ssh running `docker system dial-stdio` on the remote (docker/cli connhelper/ssh).
// An ssh endpoint is served to the HTTP client as a private unix socket whose every connection
// is one ssh process relaying to the remote's socket, so keep-alive and hijacked streams work
// the same over every transport. Keys and certificates are read where they are, never copied.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodedError } from '../../../common/errors.ts';

export interface TlsFiles {
  /** paths of PEM files (the docker CLI's --tlscacert, --tlscert, --tlskey) */
  ca?: string;
  cert?: string;
  key?: string;
  /** --tls without --tlsverify: encrypt but do not check the server's certificate */
  skipVerify?: boolean;
}

export interface Endpoint {
  /** unix:///path, tcp://host:port, ssh://[user@]host[:port] (as DOCKER_HOST) */
  host: string;
  tls?: TlsFiles;
  /** ssh only: the program and leading options (default ['ssh']) */
  sshCommand?: string[];
  /** ssh only: what runs on the remote (default `docker system dial-stdio`) */
  remoteCommand?: string[];
}

/** Where requests go: node:http options for the endpoint, and how to let go of it. */
export interface Route {
  agent: HttpAgent;
  /** set for unix sockets (and ssh, through the relay socket) */
  socketPath?: string;
  hostname?: string;
  port?: number;
  https: boolean;
  /** settles once requests can be made */
  ready: Promise<void>;
  close(): void;
}

export function parseHost(host: string): { scheme: 'unix' | 'tcp' | 'ssh'; path?: string; hostname?: string; port?: number; user?: string } {
  const m = /^([a-z]+):\/\/(.*)$/.exec(host.trim());
  if (!m) throw new CodedError('INVALID_ARGUMENT', `engine address "${host}" has no scheme: use unix:///path, tcp://host:port or ssh://user@host`);
  const [, scheme, rest] = m;
  if (scheme === 'unix') {
    if (!rest.startsWith('/')) throw new CodedError('INVALID_ARGUMENT', `engine address "${host}": a unix socket needs an absolute path`);
    return { scheme, path: rest };
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    let u: URL;
    try {
      u = new URL(`tcp://${rest}`);
    } catch {
      throw new CodedError('INVALID_ARGUMENT', `engine address "${host}" is not host:port`);
    }
    if (!u.hostname) throw new CodedError('INVALID_ARGUMENT', `engine address "${host}" names no host`);
    return { scheme: 'tcp', hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 2375 };
  }
  if (scheme === 'ssh') {
    let u: URL;
    try {
      u = new URL(`ssh://${rest}`);
    } catch {
      throw new CodedError('INVALID_ARGUMENT', `engine address "${host}" is not ssh://[user@]host[:port]`);
    }
    if (!u.hostname || (u.pathname && u.pathname !== '/')) throw new CodedError('INVALID_ARGUMENT', `engine address "${host}" is not ssh://[user@]host[:port] (no path)`);
    return { scheme: 'ssh', hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : undefined, user: u.username ? decodeURIComponent(u.username) : undefined };
  }
  if (scheme === 'npipe') throw new CodedError('UNSUPPORTED', `engine address "${host}": named pipes exist only on Windows`);
  throw new CodedError('INVALID_ARGUMENT', `engine address "${host}": unknown scheme ${scheme}; use unix://, tcp:// or ssh://`);
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CodedError('INVALID_ARGUMENT', `the TLS ${what} ${path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function openRoute(ep: Endpoint): Route {
  const h = parseHost(ep.host);
  if (h.scheme === 'unix') {
    const agent = new HttpAgent({ keepAlive: true, maxFreeSockets: 4 });
    return { agent, socketPath: h.path, https: false, ready: Promise.resolve(), close: () => agent.destroy() };
  }
  if (h.scheme === 'tcp') {
    if (!ep.tls) {
      const agent = new HttpAgent({ keepAlive: true, maxFreeSockets: 4 });
      return { agent, hostname: h.hostname, port: h.port, https: false, ready: Promise.resolve(), close: () => agent.destroy() };
    }
    const agent = new HttpsAgent({
      keepAlive: true, maxFreeSockets: 4,
      ca: readPem(ep.tls.ca, 'CA certificate'), cert: readPem(ep.tls.cert, 'client certificate'), key: readPem(ep.tls.key, 'client key'),
      rejectUnauthorized: !ep.tls.skipVerify,
    });
    return { agent, hostname: h.hostname, port: h.port, https: true, ready: Promise.resolve(), close: () => agent.destroy() };
  }
  return sshRoute(ep, h as { hostname: string; port?: number; user?: string });
}

/** The last words of the most recent ssh that failed, for the error of the request it broke. */
export interface SshRelay {
  lastError(): string | undefined;
}

function sshRoute(ep: Endpoint, h: { hostname: string; port?: number; user?: string }): Route & SshRelay {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ssh-relay-'));
  const path = join(dir, 'relay.sock');
  const [cmd, ...pre] = ep.sshCommand ?? ['ssh'];
  const argv = [...pre, '-o', 'ConnectTimeout=30', '-T', ...(h.user ? ['-l', h.user] : []), ...(h.port ? ['-p', String(h.port)] : []), '--', h.hostname, ...(ep.remoteCommand ?? ['docker', 'system', 'dial-stdio'])];
  let last: string | undefined;
  const conns = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (sock) => {
    conns.add(sock);
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    child.on('error', (e) => {
      last = `cannot run ${cmd}: ${e.message}`;
      sock.destroy();
    });
    // The connection ends only once ssh has exited and its reason is kept, so a request it
    // broke finds that reason when it fails.
    child.on('close', (code) => {
      if (code) last = err.trim() || `ssh exited with status ${code}`;
      sock.end();
    });
    sock.pipe(child.stdin).on('error', () => undefined);
    child.stdout.pipe(sock, { end: false });
    // A connection that works makes an older failure's reason stale.
    child.stdout.once('data', () => (last = undefined));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      conns.delete(sock);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  const agent = new HttpAgent({ keepAlive: true, maxFreeSockets: 4 });
  return {
    agent, socketPath: path, https: false, ready,
    lastError: () => last,
    close: () => {
      agent.destroy();
      for (const c of conns) c.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
