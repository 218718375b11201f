// A Docker Engine API client over any transport (transport.ts): requests, JSON, the API's
// newline-delimited JSON streams, the multiplexed stdio frames and hijacked connections. HTTP
// errors come back as CodedErrors by status, with the engine's own message and its name.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { CodedError, type ErrorCode } from '../../../common/errors.ts';
import { openRoute, type Endpoint, type Route, type SshRelay } from './transport.ts';

/** The API version asked for: what dockerd 20.10, podman 4 and Berth all serve. */
export const API_VERSION = '1.41';

export type Query = Record<string, string | number | boolean | undefined | null | string[] | Record<string, unknown>>;

export interface RequestInit {
  query?: Query;
  /** a JSON value, raw bytes, or a stream (sent chunked) */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** answer with the response whatever its status */
  raw?: boolean;
}

const STATUS_CODE: Record<number, ErrorCode> = {
  304: 'NOT_MODIFIED', 400: 'INVALID_ARGUMENT', 401: 'UNAUTHORIZED', 403: 'PERMISSION', 404: 'NOT_FOUND',
  409: 'CONFLICT', 501: 'UNSUPPORTED', 503: 'UNAVAILABLE',
};

function encodeQuery(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else if (typeof v === 'object') p.set(k, JSON.stringify(v));
    else p.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function readBody(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export class DockerClient {
  private readonly route: Route;

  constructor(readonly name: string, readonly endpoint: Endpoint) {
    this.route = openRoute(endpoint);
  }

  close(): void {
    this.route.close();
  }

  /** Why a connection failed, in words that name the engine and the fix. */
  private unreachable(e: NodeJS.ErrnoException): CodedError {
    const where = `engine "${this.name}" (${this.endpoint.host})`;
    const ssh = (this.route as Partial<SshRelay>).lastError?.();
    if (ssh) return new CodedError('UNAVAILABLE', `${where}: ssh failed: ${ssh}`, { cause: e });
    const code = e.code ?? '';
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return new CodedError('UNAVAILABLE', `${where} is not reachable: nothing listens there (${code}); start the engine or fix the address`, { cause: e });
    if (code === 'EACCES') return new CodedError('PERMISSION', `${where}: permission denied on the socket; ask for access to it (the docker group) or use another engine`, { cause: e });
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|EPROTO/.test(code)) {
      return new CodedError('UNAVAILABLE', `${where}: TLS failed: ${e.message}; check the CA certificate and the client certificate and key`, { cause: e });
    }
    if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CodedError('UNAVAILABLE', `${where} is not reachable: ${code}`, { cause: e });
    return new CodedError('UNAVAILABLE', `${where}: ${e.message}`, { cause: e });
  }

  private options(method: string, path: string, init: RequestInit): RequestOptions {
    const r = this.route;
    const headers: Record<string, string> = { ...init.headers };
    const body = init.body;
    if (body !== undefined && !(body instanceof Readable) && !Buffer.isBuffer(body)) headers['Content-Type'] ??= 'application/json';
    if (body instanceof Readable) headers['Transfer-Encoding'] = 'chunked';
    return {
      method, agent: r.agent, path: `/v${API_VERSION}${path}${encodeQuery(init.query)}`, headers,
      ...(r.socketPath ? { socketPath: r.socketPath } : { hostname: r.hostname, port: r.port }),
      ...(init.signal ? { signal: init.signal } : {}),
    };
  }

  private send(opts: RequestOptions, body: unknown, retried = false): Promise<{ res: IncomingMessage } | { upgrade: Duplex; res: IncomingMessage }> {
    return this.route.ready.then(() => new Promise((resolve, reject) => {
      const req = (this.route.https ? httpsRequest : httpRequest)(opts);
      req.on('response', (res) => resolve({ res }));
      req.on('upgrade', (res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve({ upgrade: socket, res });
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        // A kept-alive connection the engine closed as this request went out (its idle timeout;
        // a relayed socket hears of the close late): a read is sent once more on a new one.
        const replayable = !(body instanceof Readable) && (opts.method === 'GET' || opts.method === 'HEAD');
        if (!retried && req.reusedSocket && e.code === 'ECONNRESET' && replayable) return resolve(this.send(opts, body, true));
        if (e.name === 'AbortError') return reject(new CodedError('UNAVAILABLE', `request to engine "${this.name}" cancelled`, { cause: e }));
        reject(this.unreachable(e));
      });
      if (body instanceof Readable) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else if (Buffer.isBuffer(body)) req.end(body);
      else if (body !== undefined) req.end(JSON.stringify(body));
      else req.end();
    }));
  }

  /** The error of a failed response: dockerd's {"message"} with the status's code. */
  async failure(res: IncomingMessage): Promise<CodedError> {
    const text = (await readBody(res)).toString();
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      /* plain text */
    }
    const status = res.statusCode ?? 500;
    const code = STATUS_CODE[status] ?? 'INTERNAL';
    return new CodedError(code, message || `engine "${this.name}" answered ${status}`);
  }

  async request(method: string, path: string, init: RequestInit = {}): Promise<IncomingMessage> {
    const r = await this.send(this.options(method, path, init), init.body);
    if ('upgrade' in r) {
      r.upgrade.destroy();
      throw new CodedError('INTERNAL', `engine "${this.name}" upgraded ${method} ${path} unasked`);
    }
    const status = r.res.statusCode ?? 500;
    if (init.raw || (status >= 200 && status < 300)) return r.res;
    throw await this.failure(r.res);
  }

  async json<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const body = await readBody(await this.request(method, path, init));
    if (!body.length) return undefined as T;
    try {
      return JSON.parse(body.toString()) as T;
    } catch {
      throw new CodedError('INTERNAL', `engine "${this.name}" answered ${method} ${path} with something that is not JSON`);
    }
  }

  async ok(method: string, path: string, init: RequestInit = {}): Promise<void> {
    await readBody(await this.request(method, path, init));
  }

  /** A hijacked connection (attach, exec start): the raw stream both ways. */
  async hijack(path: string, init: RequestInit = {}): Promise<Duplex> {
    const opts = this.options('POST', path, { ...init, headers: { ...init.headers, Connection: 'Upgrade', Upgrade: 'tcp' } });
    const r = await this.send(opts, init.body ?? {});
    if ('upgrade' in r) return r.upgrade;
    const status = r.res.statusCode ?? 500;
    if (status >= 300) throw await this.failure(r.res);
    // An engine that answers 200 and keeps the connection raw (older hijack): the socket is the stream.
    const sock = r.res.socket;
    return sock;
  }
}

/** The API's JSON streams: one value per line (events, pull progress, build output, stats). */
export async function* jsonLines<T>(res: Readable): AsyncGenerator<T> {
  let buf = '';
  for await (const chunk of res) {
    buf += (chunk as Buffer).toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as T;
}

/** Docker's multiplexed stdio frames: [stream, 0, 0, 0, size(4)] then the payload. */
export async function* frames(res: Readable): AsyncGenerator<{ stream: 0 | 1 | 2; data: Buffer }> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of res) {
    buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      yield { stream: buf[0] as 0 | 1 | 2, data: buf.subarray(8, 8 + size) };
      buf = buf.subarray(8 + size);
    }
  }
}
