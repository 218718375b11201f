// The Backend of an engine elsewhere, over its Docker Engine API: Berth's own engine on another
// socket or host, dockerd, podman. The app's host drives it exactly as it drives the engine in
// its process. What a plain Docker API lacks (the build history, the volume browser) answers
// UNSUPPORTED with the reason; stats graphs are sampled here (stats.ts), so their 15 minutes of
// history exist for every engine.
import type { IncomingMessage } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type {
  ChangeItem, ContainerInspect, ContainerListItem, DiskUsage, EngineEvent, ExecInspect, HistoryEntry,
  ImageDeleteItem, ImageInspect, ImageSummary, LogEntry, NetworkView, PathStat, ProgressMessage, RegistryCredentials, SystemInfo, TopResult,
  VersionInfo, VolumeView,
} from '../../../common/docker.ts';
import { CodedError } from '../../../common/errors.ts';
import { parseReference } from '../../../common/reference.ts';
import type { BuildOutput, BuildRecord, BuildRequest } from '../../../common/build.ts';
import type {
  AttachOptions, Backend, ContainersBackend, ExecBackend, ImagesBackend, NetworksBackend, StatsBackend, StdioStream, SystemBackend,
  VolumesBackend, WaitCondition,
} from '../backend.ts';
import { agentAnswersAt, serveAgentChannel } from './agentRelay.ts';
import { DockerClient, frames, jsonLines } from './client.ts';
import { EventFeed, type FeedState } from './events.ts';
import { ApiStats, readingOf, type DockerStatsJson } from './stats.ts';
import type { Endpoint } from './transport.ts';

const enc = encodeURIComponent;

/** A reference's repository (what is left without its tag and digest) and its tag, as the API's query takes them. */
function splitRef(ref: string): { repo: string; tag?: string; digest?: string } {
  const r = parseReference(ref);
  let repo = ref.replace(/@.*$/, '');
  if (r.tag) repo = repo.slice(0, repo.lastIndexOf(':'));
  return { repo, tag: r.tag, digest: r.digest };
}

function authHeader(c?: RegistryCredentials, server?: string): Record<string, string> {
  const auth = c ? (c.identityToken ? { identitytoken: c.identityToken } : { username: c.username, password: c.password, ...(server ? { serveraddress: server } : {}) }) : {};
  return { 'X-Registry-Auth': Buffer.from(JSON.stringify(auth)).toString('base64url') };
}

/** Reads a progress stream to its end, passing each message on; a message with an error fails it. */
async function progress(res: IncomingMessage, on?: (m: ProgressMessage) => void, each?: (m: Record<string, unknown>) => void): Promise<void> {
  for await (const m of jsonLines<Record<string, unknown>>(res)) {
    if (m.error || m.errorDetail) {
      const msg = String((m.errorDetail as { message?: string } | undefined)?.message ?? m.error);
      // The stream's errors carry no code (the HTTP status was 200 when it began).
      throw new CodedError('INTERNAL', msg);
    }
    each?.(m);
    if (typeof m.status === 'string') on?.(m as unknown as ProgressMessage);
  }
}

export class DockerApiBackend implements Backend {
  readonly client: DockerClient;
  readonly feed: EventFeed;
  readonly containers: ContainersBackend;
  readonly exec: ExecBackend;
  readonly images: ImagesBackend;
  readonly networks: NetworksBackend;
  readonly volumes: VolumesBackend;
  readonly system: SystemBackend;
  readonly stats: StatsBackend & { dispose(): void };

  constructor(readonly name: string, endpoint: Endpoint) {
    const c = (this.client = new DockerClient(name, endpoint));
    this.feed = new EventFeed(c);
    const isTty = async (ref: string) => (await c.json<ContainerInspect>('GET', `/containers/${enc(ref)}/json`)).Config.Tty;

    this.containers = {
      list: (o = {}) => c.json<ContainerListItem[]>('GET', '/containers/json', { query: { all: o.all, filters: o.filters, limit: o.limit, size: o.size } }),
      inspect: (ref) => c.json<ContainerInspect>('GET', `/containers/${enc(ref)}/json`),
      create: async (opts) => {
        const { name: n, ...body } = opts as typeof opts & { name?: string };
        const r = await c.json<{ Id: string; Warnings: string[] | null }>('POST', '/containers/create', { query: { name: n }, body });
        return { Id: r.Id, Warnings: r.Warnings ?? [] };
      },
      start: (ref) => c.ok('POST', `/containers/${enc(ref)}/start`),
      stop: (ref, o = {}) => c.ok('POST', `/containers/${enc(ref)}/stop`, { query: { t: o.timeout, signal: o.signal } }),
      restart: (ref, o = {}) => c.ok('POST', `/containers/${enc(ref)}/restart`, { query: { t: o.timeout } }),
      kill: (ref, signal) => c.ok('POST', `/containers/${enc(ref)}/kill`, { query: { signal } }),
      pause: (ref) => c.ok('POST', `/containers/${enc(ref)}/pause`),
      unpause: (ref) => c.ok('POST', `/containers/${enc(ref)}/unpause`),
      remove: (ref, o = {}) => c.ok('DELETE', `/containers/${enc(ref)}`, { query: { force: o.force, v: o.volumes } }),
      rename: (ref, n) => c.ok('POST', `/containers/${enc(ref)}/rename`, { query: { name: n } }),
      removeLink: (parent, alias) => c.ok('DELETE', `/containers/${enc(parent.replace(/^\//, ''))}/${enc(alias.replace(/^\//, ''))}`, { query: { link: true } }),
      update: async (ref, u) => {
        const r = await c.json<{ Warnings: string[] | null }>('POST', `/containers/${enc(ref)}/update`, { body: u });
        return { Warnings: r?.Warnings ?? [] };
      },
      resize: (ref, h, w) => c.ok('POST', `/containers/${enc(ref)}/resize`, { query: { h, w } }),
      wait: (ref, condition?: WaitCondition, signal?: AbortSignal) => c.json('POST', `/containers/${enc(ref)}/wait`, { query: { condition }, signal }),
      prune: (filters) => c.json('POST', '/containers/prune', { query: { filters } }),
      logs: (ref, o) => this.logs(ref, o),
      attach: async (ref, o: AttachOptions): Promise<StdioStream> => {
        const tty = await isTty(ref);
        const stream = await c.hijack(`/containers/${enc(ref)}/attach`, { query: { stdin: o.stdin, stdout: o.stdout, stderr: o.stderr, logs: o.logs, stream: o.stream ?? true } });
        return { stream, tty };
      },
      stats: async (ref) => readingOf(await c.json<DockerStatsJson>('GET', `/containers/${enc(ref)}/stats`, { query: { stream: false } })),
      top: (ref, psArgs) => c.json<TopResult>('GET', `/containers/${enc(ref)}/top`, { query: { ps_args: psArgs } }),
      changes: async (ref) => (await c.json<ChangeItem[] | null>('GET', `/containers/${enc(ref)}/changes`)) ?? [],
      export: (ref) => c.request('GET', `/containers/${enc(ref)}/export`),
      archiveStat: async (ref, path) => {
        const res = await c.request('HEAD', `/containers/${enc(ref)}/archive`, { query: { path } });
        res.resume();
        return statHeader(res);
      },
      archiveGet: async (ref, path) => {
        const res = await c.request('GET', `/containers/${enc(ref)}/archive`, { query: { path } });
        return { stat: statHeader(res), tar: res };
      },
      archivePut: (ref, dir, tar) => c.ok('PUT', `/containers/${enc(ref)}/archive`, { query: { path: dir }, body: Readable.from(tar), headers: { 'Content-Type': 'application/x-tar' } }),
    };

    this.exec = {
      create: (container, cfg) => c.json<{ Id: string }>('POST', `/containers/${enc(container)}/exec`, { body: cfg }),
      start: async (id, o = {}) => {
        if (o.detach) {
          await c.ok('POST', `/exec/${enc(id)}/start`, { body: { Detach: true } });
          return undefined;
        }
        const x = await c.json<ExecInspect>('GET', `/exec/${enc(id)}/json`);
        // dockerd upgrades the connection before it checks, and would report this inside the stream.
        if (x.Running || (x.ExitCode !== null && x.ExitCode !== undefined)) throw new CodedError('CONFLICT', `exec ${id} has already run; create another`);
        const tty = x.ProcessConfig?.tty ?? false;
        const stream = await c.hijack(`/exec/${enc(id)}/start`, { body: { Detach: false, Tty: tty, ...(o.consoleSize ? { ConsoleSize: o.consoleSize } : {}) } });
        return { stream: settledOnEnd(stream, () => c.json<ExecInspect>('GET', `/exec/${enc(id)}/json`).then((x) => !x.Running, () => true)), tty };
      },
      resize: (id, h, w) => c.ok('POST', `/exec/${enc(id)}/resize`, { query: { h, w } }),
      inspect: async (id) => {
        const x = await c.json<ExecInspect>('GET', `/exec/${enc(id)}/json`);
        // Exec records go with their container's run (dockerd 23+ drops them at the exit; 20.10 keeps them).
        const running = await c.json<ContainerInspect>('GET', `/containers/${enc(x.ContainerID)}/json`).then((ct) => ct.State.Running, () => false);
        if (!running && !x.Running) throw new CodedError('NOT_FOUND', `no such exec: ${id} (its container is no longer running)`);
        return x;
      },
    };

    const unsupported = (what: string) => new CodedError('UNSUPPORTED', `engine "${name}" keeps no ${what}: it is not a Berth engine`);
    this.images = {
      list: (o = {}) => c.json<ImageSummary[]>('GET', '/images/json', { query: { all: o.all, filters: o.filters, 'shared-size': o.sharedSize } }),
      inspect: (ref) => c.json<ImageInspect>('GET', `/images/${ref}/json`),
      history: (ref) => c.json<HistoryEntry[]>('GET', `/images/${ref}/history`),
      pull: async (ref, o = {}) => {
        const r = splitRef(ref);
        const fromImage = r.repo;
        const tag = r.digest ?? r.tag ?? (o.allTags ? undefined : 'latest');
        const platform = o.platform ? [o.platform.os, o.platform.architecture, o.platform.variant].filter(Boolean).join('/') : undefined;
        const res = await c.request('POST', '/images/create', { query: { fromImage, tag, platform }, headers: authHeader(o.credentials), signal: o.signal });
        await progress(res, o.onProgress);
      },
      push: async (ref, o = {}) => {
        const r = splitRef(ref);
        const res = await c.request('POST', `/images/${r.repo}/push`, { query: { tag: r.tag }, headers: authHeader(o.credentials), signal: o.signal });
        let out = { tag: r.tag ?? 'latest', digest: '', size: 0 };
        await progress(res, o.onProgress, (m) => {
          const aux = m.aux as { Tag?: string; Digest?: string; Size?: number } | undefined;
          if (aux?.Digest) out = { tag: aux.Tag ?? out.tag, digest: aux.Digest, size: aux.Size ?? 0 };
        });
        return out;
      },
      tag: (source, target) => {
        const r = splitRef(target);
        return c.ok('POST', `/images/${source}/tag`, { query: { repo: r.repo, tag: r.tag ?? 'latest' } });
      },
      remove: (ref, o = {}) => c.json<ImageDeleteItem[]>('DELETE', `/images/${ref}`, { query: { force: o.force } }),
      prune: (o = {}) => c.json('POST', '/images/prune', { query: { filters: { ...o.filters, ...(o.all ? { dangling: ['false'] } : {}) } } }),
      import: async (tar, o = {}) => {
        const res = await c.request('POST', '/images/create', { query: { fromSrc: '-', repo: o.ref, message: o.comment }, body: tar, headers: { 'Content-Type': 'application/x-tar' } });
        let id = '';
        await progress(res, undefined, (m) => {
          if (typeof m.status === 'string' && /^sha256:/.test(m.status.trim())) id = m.status.trim();
        });
        return id;
      },
      load: async (tar) => {
        const res = await c.request('POST', '/images/load', { query: { quiet: true }, body: tar, headers: { 'Content-Type': 'application/x-tar' } });
        const lines: string[] = [];
        await progress(res, undefined, (m) => {
          if (typeof m.stream === 'string' && m.stream.trim()) lines.push(m.stream.trim());
        });
        return lines;
      },
      save: (refs) => c.request('GET', '/images/get', { query: { names: refs } }),
      build: async (context, req, out, signal) => {
        const credentials = await this.buildCredentials(req);
        const closeAgents = credentials && req.sshAgents ? await this.agentChannel(credentials, req.sshAgents) : undefined;
        try {
          return await this.buildWith(context, req, out, credentials, signal);
        } finally {
          closeAgents?.();
        }
      },
      commit: (container, o) => c.json<{ Id: string }>('POST', '/commit', {
        query: { container, repo: o.repo, tag: o.tag, comment: o.comment, author: o.author, changes: o.changes, pause: o.pause },
        body: o.config ?? {},
      }),
      builds: async () => [] as BuildRecord[],
      buildRecord: async () => {
        throw unsupported('build records');
      },
      removeBuildRecord: async () => {
        throw unsupported('build records');
      },
      cancelBuild: async () => {
        throw unsupported('build records');
      },
      onBuild: () => () => undefined,
      login: (server, cr) => c.ok('POST', '/auth', { body: { username: cr.username, password: cr.password, serveraddress: server, ...(cr.identityToken ? { identitytoken: cr.identityToken } : {}) } }),
      // The API has no logout: credentials live with the client.
      logout: async () => false,
    };

    this.networks = {
      list: (filters) => c.json<NetworkView[]>('GET', '/networks', { query: { filters } }),
      inspect: (ref) => c.json<NetworkView>('GET', `/networks/${enc(ref)}`),
      create: async (o) => {
        const r = await c.json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body: { CheckDuplicate: true, ...o } });
        return { Id: r.Id, Warning: r.Warning ?? '' };
      },
      remove: (ref) => c.ok('DELETE', `/networks/${enc(ref)}`),
      connect: (network, container, endpoint) => c.ok('POST', `/networks/${enc(network)}/connect`, { body: { Container: container, EndpointConfig: endpoint ?? undefined } }),
      disconnect: (network, container, force) => c.ok('POST', `/networks/${enc(network)}/disconnect`, { body: { Container: container, Force: !!force } }),
      prune: async (filters) => ({ NetworksDeleted: (await c.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters } })).NetworksDeleted ?? [] }),
    };

    this.volumes = {
      list: async (filters) => (await c.json<{ Volumes: VolumeView[] | null }>('GET', '/volumes', { query: { filters } })).Volumes ?? [],
      inspect: (n) => c.json<VolumeView>('GET', `/volumes/${enc(n)}`),
      create: (o) => c.json<VolumeView>('POST', '/volumes/create', { body: o }),
      remove: (n, force) => c.ok('DELETE', `/volumes/${enc(n)}`, { query: { force } }),
      prune: async (filters) => {
        const r = await c.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters } });
        return { VolumesDeleted: r.VolumesDeleted ?? [], SpaceReclaimed: r.SpaceReclaimed };
      },
      browse: async () => {
        throw new CodedError('UNSUPPORTED', `engine "${name}": browsing a volume's files needs Berth's own engine`);
      },
    };

    this.system = {
      info: () => c.json<SystemInfo>('GET', '/info'),
      version: () => c.json<VersionInfo>('GET', '/version'),
      diskUsage: () => c.json<DiskUsage>('GET', '/system/df'),
      pruneCache: async () => {
        const r = await c.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune');
        return { CachesDeleted: r.CachesDeleted ?? null, SpaceReclaimed: r.SpaceReclaimed ?? 0 };
      },
      events: (listener: (e: EngineEvent) => void, o?: { since?: number }) => this.feed.on(listener, o?.since),
      recentEvents: () => this.feed.recent(),
    };

    this.stats = new ApiStats(this.containers, this.feed, (id, signal) => c.request('GET', `/containers/${enc(id)}/stats`, { query: { stream: true }, signal }));
  }

  /** The connection to the engine: 'lost' while its event stream cannot be reopened. */
  onState(listener: (s: FeedState, detail?: string) => void): () => void {
    return this.feed.onState(listener);
  }

  /** POST /build with the context, the build's output relayed; the image ID. */
  private async buildWith(context: Readable, req: BuildRequest, out: BuildOutput, credentials: string | undefined, signal?: AbortSignal): Promise<string> {
    const res = await this.client.request('POST', '/build', {
      body: context, signal, headers: { 'Content-Type': 'application/x-tar' },
      query: {
        dockerfile: req.dockerfile, t: req.tags, buildargs: req.buildArgs, labels: req.labels, target: req.target, nocache: req.nocache, pull: req.pull,
        rm: req.rm, forcerm: req.forcerm, cachefrom: req.cacheFrom, networkmode: req.networkMode, extrahosts: req.extraHosts?.join(','), shmsize: req.shmSize,
        memory: req.memory, memswap: req.memswap, cpushares: req.cpuShares, cpusetcpus: req.cpusetCpus, cpuquota: req.cpuQuota, cpuperiod: req.cpuPeriod, platform: req.platform,
        version: '1', berthcredentials: credentials,
      },
    });
    let id = '';
    for await (const m of jsonLines<Record<string, unknown>>(res)) {
      if (m.error || m.errorDetail) throw new CodedError('INVALID_ARGUMENT', String((m.errorDetail as { message?: string } | undefined)?.message ?? m.error));
      if (typeof m.stream === 'string') out.stream(m.stream);
      else if (m.aux && typeof (m.aux as { ID?: string }).ID === 'string') {
        id = (m.aux as { ID: string }).ID;
        out.aux({ ID: id });
      } else if (typeof m.status === 'string') out.progress(m as unknown as ProgressMessage);
    }
    if (!id) throw new CodedError('INTERNAL', `engine "${this.name}" ended the build without an image`);
    return id;
  }

  /**
   * A build's secrets and SSH keys, sent ahead to a Berth engine (its POST /berth/build-credentials);
   * the token the build names them by. Any other engine cannot take them: refused, nothing sent.
   */
  private async buildCredentials(req: BuildRequest): Promise<string | undefined> {
    const secrets = Object.entries(req.secrets ?? {});
    const ssh = Object.entries(req.ssh ?? {});
    const agents = Object.entries(req.sshAgents ?? {});
    if (!secrets.length && !ssh.length && !agents.length) return undefined;
    // The agents are on this machine, which the engine may not be on: they are reached through
    // an agent channel (agentChannel), after a check that each answers here.
    for (const [id, path] of agents) {
      if (!(await agentAnswersAt(path))) {
        throw new CodedError('INVALID_ARGUMENT', `ssh "${id}": no SSH agent answers at ${path}: start one (eval "$(ssh-agent)"; ssh-add), or give key files instead (${id}=/path/to/key)`);
      }
    }
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    try {
      const r = await this.client.json<{ Token: string }>('POST', '/berth/build-credentials', {
        body: { secrets: Object.fromEntries(secrets.map(([id, v]) => [id, b64(v)])), ssh: Object.fromEntries(ssh.map(([id, list]) => [id, list.map(b64)])) },
      });
      return r.Token;
    } catch (e) {
      if ((e as CodedError).code !== 'NOT_FOUND') throw e;
      throw new CodedError('UNSUPPORTED', `engine "${this.name}" cannot take build secrets or SSH keys: only a Berth engine can (the Docker API's classic build has no way to send them); build without them or on a Berth engine`);
    }
  }

  /**
   * An agent channel for the build these credentials are for (common/agentChannel.ts): the
   * engine's requests of the app's agents answered from here until the function returned is called.
   */
  private async agentChannel(token: string, agents: Record<string, string>): Promise<() => void> {
    try {
      return serveAgentChannel(await this.client.hijack('/berth/build-agents', { query: { token, id: Object.keys(agents) } }), agents);
    } catch (e) {
      if ((e as CodedError).code !== 'NOT_FOUND') throw e;
      throw new CodedError('UNSUPPORTED', `engine "${this.name}" cannot reach this machine's SSH agent (it has no agent channel: a Berth engine older than the app); give key files instead, or update the engine`);
    }
  }

  private async *logs(ref: string, o: Parameters<ContainersBackend['logs']>[1]): AsyncGenerator<LogEntry> {
    const c = this.client;
    const tty = (await c.json<ContainerInspect>('GET', `/containers/${enc(ref)}/json`)).Config.Tty;
    const res = await c.request('GET', `/containers/${enc(ref)}/logs`, {
      query: { stdout: o.stdout ?? true, stderr: o.stderr ?? true, follow: o.follow, tail: o.tail ?? 'all', since: o.since, until: o.until, timestamps: true },
      signal: o.signal,
    });
    const entry = (stream: 'stdout' | 'stderr', line: string): LogEntry => {
      const sp = line.indexOf(' ');
      return { stream, time: sp > 0 ? line.slice(0, sp) : '', text: sp > 0 ? line.slice(sp + 1) : line };
    };
    try {
      if (tty) {
        let buf = '';
        for await (const chunk of res) {
          buf += (chunk as Buffer).toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            yield entry('stdout', buf.slice(0, nl + 1));
            buf = buf.slice(nl + 1);
          }
        }
        if (buf) yield entry('stdout', buf);
        return;
      }
      // Each frame is one line (or a partial one) with its timestamp in front.
      for await (const f of frames(res)) yield entry(f.stream === 2 ? 'stderr' : 'stdout', f.data.toString());
    } catch (e) {
      if (o.signal?.aborted) return;
      throw e;
    } finally {
      res.destroy();
    }
  }

  dispose(): void {
    this.stats.dispose();
    this.feed.dispose();
    this.client.close();
  }
}

function statHeader(res: IncomingMessage): PathStat {
  const h = res.headers['x-docker-container-path-stat'];
  if (typeof h !== 'string') throw new CodedError('INTERNAL', 'the engine sent no X-Docker-Container-Path-Stat header');
  return JSON.parse(Buffer.from(h, 'base64').toString()) as PathStat;
}

/**
 * An exec's stream that ends only once the engine reports the process gone, so its exit code is
 * in inspect() when a reader sees the end (dockerd closes the stream a moment before).
 */
function settledOnEnd(stream: Duplex, done: () => Promise<boolean>): Duplex {
  const push = stream.push.bind(stream);
  stream.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null) return push(chunk, encoding);
    void (async () => {
      for (let i = 0; i < 50 && !(await done()); i++) await new Promise((r) => setTimeout(r, 20));
      push(null);
    })();
    return false;
  };
  return stream;
}
