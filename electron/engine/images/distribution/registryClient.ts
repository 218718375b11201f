// OCI distribution client: endpoints, anonymous and basic token auth (WWW-Authenticate Bearer
// realm/service/scope), plain Basic auth, retries with backoff, resumable blob downloads (Range),
// uploads (monolithic and chunked), cross-repository mounts and manifests.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fsync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { EngineError, invalid, notFound } from '../../errors.ts';
import type { ContentStore, IngestTap } from '../contentStore.ts';
import { DigestMismatchError } from '../contentStore.ts';
import type { Credentials, CredentialStore } from './credentials.ts';

export interface RegistryOptions {
  credentials: CredentialStore;
  /** hosts (host:port) that may be reached over plain HTTP besides loopback */
  insecureRegistries?: string[];
  /** mirrors for docker.io, tried in order before Docker Hub (URLs) */
  mirrors?: string[];
  /** Docker Hub's own endpoint, last after the mirrors (default https://registry-1.docker.io) */
  hub?: string;
  userAgent?: string;
  /** attempts per request for network errors and 5xx answers */
  attempts?: number;
  /** first retry delay in ms (doubles each time) */
  backoffMs?: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (the first challenge). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] ?? p[3];
  return { scheme: m[1].toLowerCase(), params };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reason behind undici's "fetch failed". */
function netReason(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  if (err.name === 'AbortError') return 'cancelled';
  const c = err.cause as (Error & { code?: string; syscall?: string }) | undefined;
  // A system error's message already names its code ("connect ECONNREFUSED …"); undici's own do not.
  return c ? (c.code && !c.syscall ? `${c.code} ${c.message}` : c.message) : err.message;
}

export class RegistrySession {
  private token: string | undefined;
  private basic: string | undefined;

  constructor(
    private readonly client: RegistryClient,
    readonly domain: string,
    readonly repo: string,
    readonly actions: string,
    readonly base: string,
    private readonly creds: Credentials | undefined,
    private readonly extraScopes: string[] = [],
  ) {}

  get display(): string {
    return `${this.domain}/${this.repo}`;
  }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.base}/v2/${this.repo}${path}`;
  }

  private async authenticate(res: Response): Promise<boolean> {
    const ch = parseChallenge(res.headers.get('www-authenticate'));
    if (!ch) return false;
    if (ch.scheme === 'basic') {
      if (!this.creds || this.creds.identityToken || this.basic) return false;
      this.basic = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
      return true;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm || this.token) return false;
    const u = new URL(ch.params.realm);
    const scopes = [...(this.repo ? [`repository:${this.repo}:${this.actions}`] : []), ...this.extraScopes];
    if (this.creds?.identityToken) return this.refreshToken(u, ch.params.service, scopes, this.creds.identityToken);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    for (const s of scopes) u.searchParams.append('scope', s);
    const headers: Record<string, string> = { 'user-agent': this.client.userAgent };
    if (this.creds) headers.authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64')}`;
    const r = await this.client.fetchRetry(u.toString(), { headers }, this.domain);
    if (r.status === 401 || r.status === 403) {
      throw new EngineError('UNAUTHORIZED', `${this.domain}: ${this.creds ? 'incorrect username or password' : 'authentication required'}`);
    }
    if (!r.ok) throw new EngineError('UNAVAILABLE', `${this.domain}: token server answered ${r.status}`);
    const body = (await r.json()) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token;
    return !!this.token;
  }

  /** An identity token is an OAuth2 refresh token: POSTed to the realm for an access token. */
  private async refreshToken(realm: URL, service: string | undefined, scopes: string[], token: string): Promise<boolean> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: 'berth' });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    const r = await this.client.fetchRetry(realm.toString(), {
      method: 'POST', headers: { 'user-agent': this.client.userAgent, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
    }, this.domain);
    if (r.status === 401 || r.status === 403) throw new EngineError('UNAUTHORIZED', `${this.domain}: the identity token was refused; log in again`);
    if (!r.ok) throw new EngineError('UNAVAILABLE', `${this.domain}: token server answered ${r.status} to the identity token`);
    const body = (await r.json()) as { access_token?: string; token?: string };
    this.token = body.access_token ?? body.token;
    return !!this.token;
  }

  /** One request with auth; retries once after a 401 challenge. */
  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Buffer | ReadableStream | null; duplex?: 'half'; signal?: AbortSignal; noRetry?: boolean } = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': this.client.userAgent, ...init.headers };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      else if (this.basic) headers.authorization = this.basic;
      const res = await this.client.fetchRetry(this.url(path), { method, headers, body: init.body, duplex: init.duplex, signal: init.signal, redirect: 'follow' } as RequestInit, this.domain, init.noRetry);
      if (res.status === 401 && attempt === 0) {
        const retry = await this.authenticate(res);
        if (retry && !(init.body instanceof ReadableStream) && !(init.body instanceof Readable)) {
          await res.body?.cancel();
          continue;
        }
        if (!retry) {
          await res.body?.cancel();
          throw new EngineError('UNAUTHORIZED', `${this.domain}: ${this.creds ? 'incorrect username or password' : `authentication required for ${this.display} (run berth login ${this.domain})`}`);
        }
      }
      if (res.status === 401) {
        await res.body?.cancel();
        throw new EngineError('UNAUTHORIZED', `${this.domain}: ${this.creds ? 'incorrect username or password' : `authentication required for ${this.display}`}`);
      }
      return res;
    }
  }

  /** Authenticates up front (so later streaming requests need no replay). */
  async ping(): Promise<void> {
    const res = await this.request('GET', `${this.base}/v2/`);
    await res.body?.cancel();
    if (res.status === 404) throw new EngineError('UNAVAILABLE', `${this.domain} does not look like a registry (no /v2/ endpoint)`);
  }

  async errorText(res: Response): Promise<string> {
    return (await this.registryError(res)).text;
  }

  /** The registry's error: its readable text, and the distribution spec's codes (NAME_UNKNOWN, …). */
  async registryError(res: Response): Promise<{ text: string; codes: string[] }> {
    const text = await res.text().catch(() => '');
    try {
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      if (j.errors?.length) {
        return {
          text: j.errors.map((e) => `${e.code ? `${e.code.toLowerCase().replace(/_/g, ' ')}: ` : ''}${e.message ?? ''}`).join('; '),
          codes: j.errors.flatMap((e) => (e.code ? [e.code] : [])),
        };
      }
    } catch {
      /* not JSON */
    }
    return { text: text.trim().slice(0, 200) || `HTTP ${res.status}`, codes: [] };
  }

  /** Every tag of the repository, following the registry's pagination (Link: rel="next"). */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = '/tags/list?n=1000';
    for (let pages = 0; path && pages < 1000; pages++) {
      const res = await this.request('GET', path);
      if (res.status === 404) throw notFound(`repository ${this.display} not found: ${await this.errorText(res)}`);
      if (!res.ok) throw new EngineError('UNAVAILABLE', `${this.domain}: listing the tags of ${this.display}: ${await this.errorText(res)}`);
      const body = (await res.json().catch(() => ({}))) as { tags?: unknown };
      if (Array.isArray(body.tags)) out.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      path = next ? new URL(next, this.base).toString() : undefined;
    }
    return out;
  }

  /** GET a manifest by tag or digest. */
  async manifest(reference: string, what: string): Promise<{ body: Buffer; mediaType: string; digest: string }> {
    const res = await this.request('GET', `/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      const why = await this.registryError(res);
      if (why.codes.includes('NAME_UNKNOWN')) throw notFound(`repository ${this.display} not found: ${why.text}`);
      throw notFound(`manifest for ${what} not found: ${why.text}`);
    }
    if (!res.ok) throw new EngineError('UNAVAILABLE', `${this.domain}: fetching manifest for ${what}: ${await this.errorText(res)}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > 4 << 20) throw invalid(`manifest for ${what} is larger than 4 MiB`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) throw new DigestMismatchError(reference, digest, `manifest of ${what}`);
    let mediaType = res.headers.get('content-type')?.split(';')[0].trim() ?? '';
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests?: unknown; layers?: unknown };
      if (parsed.mediaType) mediaType = parsed.mediaType;
      else if (!mediaType || mediaType === 'application/json') mediaType = parsed.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
    } catch {
      throw invalid(`manifest for ${what} is not JSON`);
    }
    return { body, mediaType, digest };
  }

  /**
   * Downloads a blob into the content store, resuming a partial file left by an earlier
   * attempt or process. The digest is checked before the blob gets its name. A tap sees the
   * partial file as it is written (to unpack while downloading).
   */
  async fetchBlob(store: ContentStore, desc: { digest: string; size: number }, what: string, onBytes: (got: number) => void, signal?: AbortSignal, tap?: IngestTap): Promise<void> {
    if (store.has(desc.digest)) return;
    // While it downloads, its partial file is not reclaimable by a prune.
    const release = store.claimPartial(desc.digest);
    try {
      await this.download(store, desc, what, onBytes, signal, tap);
    } finally {
      release();
    }
  }

  private async download(store: ContentStore, desc: { digest: string; size: number }, what: string, onBytes: (got: number) => void, signal?: AbortSignal, tap?: IngestTap): Promise<void> {
    const partial = store.partialPath(desc.digest);
    let failures = 0;
    for (;;) {
      let have = existsSync(partial) ? statSync(partial).size : 0;
      if (have > desc.size) {
        rmSync(partial, { force: true });
        have = 0;
      }
      const headers: Record<string, string> = {};
      if (have > 0) headers.range = `bytes=${have}-`;
      let res: Response;
      try {
        res = await this.request('GET', `/blobs/${desc.digest}`, { headers, signal });
      } catch (e) {
        if (e instanceof EngineError && e.code !== 'UNAVAILABLE') throw e;
        if (signal?.aborted || ++failures >= this.client.attempts) throw e;
        await sleep(this.client.backoff(failures));
        continue;
      }
      if (res.status === 404) throw notFound(`${what}: blob ${desc.digest} not found in ${this.display}`);
      if (res.status === 416) {
        await res.body?.cancel();
        rmSync(partial, { force: true });
        continue;
      }
      if (res.status !== 200 && res.status !== 206) {
        const why = await this.errorText(res);
        if (res.status < 500 || ++failures >= this.client.attempts) throw new EngineError('UNAVAILABLE', `${what}: ${this.domain} answered ${res.status}: ${why}`);
        await sleep(this.client.backoff(failures));
        continue;
      }
      if (res.status === 200 && have > 0) have = 0; // the server ignored Range: start over
      // The hash runs along with the writes; a resumed file hashes its kept part first.
      const hash = have > 0 ? (await store.hashFile(partial, have)).hash : createHash('sha256');
      const fd = openSync(partial, have > 0 ? 'a' : 'w', 0o644);
      tap?.opened(partial, have);
      let got = have;
      onBytes(got);
      let streamError: unknown;
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          got += chunk.length;
          if (got > desc.size) throw new DigestMismatchError(desc.digest, 'more bytes than its descriptor says', what);
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          hash.update(chunk);
          tap?.wrote(got);
          onBytes(got);
        }
        // On the thread pool: flushing a big blob must not stall the engine's event loop.
        await new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
      } catch (e) {
        streamError = e;
      } finally {
        closeSync(fd);
      }
      if (streamError instanceof DigestMismatchError) {
        rmSync(partial, { force: true });
        throw streamError;
      }
      if (streamError || got < desc.size) {
        if (signal?.aborted) throw streamError ?? new Error('cancelled');
        if (++failures >= this.client.attempts) {
          throw new EngineError('UNAVAILABLE', `${what}: download of ${desc.digest} stopped at ${got} of ${desc.size} bytes${streamError ? `: ${netReason(streamError)}` : ' (truncated blob)'}`);
        }
        await sleep(this.client.backoff(failures));
        continue;
      }
      const tmp = `${store.ingest}/tmp-${randomBytes(6).toString('hex')}`;
      renameSync(partial, tmp);
      store.commit(tmp, hash, got, desc.digest, what);
      return;
    }
  }

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/blobs/${digest}`);
    await res.body?.cancel();
    return res.status === 200;
  }

  /** Tries a cross-repository mount; true when the registry did it. */
  async mountBlob(digest: string, from: string): Promise<boolean> {
    const res = await this.request('POST', `/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, { headers: { 'content-length': '0' } });
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (res.status === 201) return true;
    if (res.status === 202 && location) {
      // The registry opened an upload instead; cancel it.
      const del = await this.request('DELETE', new URL(location, this.base).toString()).catch(() => undefined);
      await del?.body?.cancel();
    }
    return false;
  }

  /** Uploads a blob from a file: one PUT when small, PATCH chunks then PUT when large. */
  async uploadBlob(file: string, desc: { digest: string; size: number }, chunkSize: number, onBytes: (n: number) => void): Promise<void> {
    const start = await this.request('POST', '/blobs/uploads/', { headers: { 'content-length': '0' } });
    let location = start.headers.get('location');
    if (start.status !== 202 || !location) throw new EngineError('UNAVAILABLE', `push ${desc.digest} to ${this.display}: ${await this.errorText(start)}`);
    await start.body?.cancel();
    const withDigest = (loc: string) => {
      const u = new URL(loc, this.base);
      u.searchParams.set('digest', desc.digest);
      return u.toString();
    };
    if (desc.size <= chunkSize) {
      const body = Readable.toWeb(createReadStream(file)) as ReadableStream;
      const res = await this.request('PUT', withDigest(location), {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) }, body, duplex: 'half', noRetry: true,
      });
      if (res.status !== 201) throw new EngineError('UNAVAILABLE', `push ${desc.digest} to ${this.display}: ${await this.errorText(res)}`);
      await res.body?.cancel();
      onBytes(desc.size);
      return;
    }
    for (let off = 0; off < desc.size; off += chunkSize) {
      const end = Math.min(desc.size, off + chunkSize) - 1;
      const body = Readable.toWeb(createReadStream(file, { start: off, end })) as ReadableStream;
      const res = await this.request('PATCH', new URL(location, this.base).toString(), {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end}`, 'content-length': String(end - off + 1) },
        body, duplex: 'half', noRetry: true,
      });
      if (res.status !== 202) throw new EngineError('UNAVAILABLE', `push ${desc.digest} to ${this.display}: chunk at ${off}: ${await this.errorText(res)}`);
      location = res.headers.get('location') ?? location;
      await res.body?.cancel();
      onBytes(end + 1);
    }
    const done = await this.request('PUT', withDigest(location), { headers: { 'content-length': '0' } });
    if (done.status !== 201) throw new EngineError('UNAVAILABLE', `push ${desc.digest} to ${this.display}: ${await this.errorText(done)}`);
    await done.body?.cancel();
  }

  async putManifest(reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/manifests/${reference}`, { headers: { 'content-type': mediaType }, body });
    if (res.status !== 201) throw new EngineError('UNAVAILABLE', `push manifest to ${this.display}:${reference}: ${await this.errorText(res)}`);
    await res.body?.cancel();
    return res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }
}

export class RegistryClient {
  readonly userAgent: string;
  readonly attempts: number;
  private readonly backoffMs: number;

  constructor(private readonly opts: RegistryOptions) {
    this.userAgent = opts.userAgent ?? 'berth';
    this.attempts = opts.attempts ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
  }

  get credentials(): CredentialStore {
    return this.opts.credentials;
  }

  backoff(failures: number): number {
    return this.backoffMs * 2 ** (failures - 1);
  }

  /** Base URLs to try for a domain: mirrors first for docker.io, http for loopback and insecure hosts. */
  endpoints(domain: string): string[] {
    if (domain === 'docker.io') return [...(this.opts.mirrors ?? []).map((m) => m.replace(/\/+$/, '')), this.opts.hub ?? 'https://registry-1.docker.io'];
    const plain = isLoopback(domain) || (this.opts.insecureRegistries ?? []).includes(domain);
    return [`${plain ? 'http' : 'https'}://${domain}`];
  }

  /** `creds` (the API's X-Registry-Auth) take the place of the saved credentials for this session. */
  session(domain: string, repo: string, actions: string, base = this.endpoints(domain)[0], extraScopes: string[] = [], creds?: Credentials): RegistrySession {
    return new RegistrySession(this, domain, repo, actions, base, creds ?? this.opts.credentials.get(domain), extraScopes);
  }

  /** fetch with retries on network errors and 5xx; a registry that cannot be reached is UNAVAILABLE. */
  async fetchRetry(url: string, init: RequestInit, domain: string, noRetry = false): Promise<Response> {
    for (let failures = 0; ; ) {
      let res: Response | undefined;
      let err: unknown;
      try {
        res = await fetch(url, init);
      } catch (e) {
        err = e;
      }
      if (res && (res.status < 500 || noRetry)) return res;
      if ((init.signal as AbortSignal | undefined)?.aborted) throw new EngineError('UNAVAILABLE', `${domain}: cancelled`);
      if (++failures >= (noRetry ? 1 : this.attempts)) {
        if (res) return res;
        throw new EngineError('UNAVAILABLE', `registry ${domain} is unreachable: ${netReason(err)}`);
      }
      await res?.body?.cancel();
      await sleep(this.backoff(failures));
    }
  }

  /** Checks credentials against a registry (docker login). */
  async login(domain: string, creds: Credentials): Promise<void> {
    const base = this.endpoints(domain).at(-1)!;
    const s = new RegistrySession(this, domain, '', 'pull', base, creds);
    const res = await s.request('GET', `${base}/v2/`);
    await res.body?.cancel();
    if (res.status === 401) throw new EngineError('UNAUTHORIZED', `${domain}: incorrect username or password`);
    if (!res.ok) throw new EngineError('UNAVAILABLE', `${domain}: login answered ${res.status}`);
  }
}
