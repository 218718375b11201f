// Serves common/contract.ts against a backend for any transport (Electron IPC, web-mode
// WebSocket): validates arguments, runs the handler, returns errors as data, broadcasts
// container/image/job/stats deltas. Handlers are short adapters over backend calls.
import { methods, streams, type EventMap, type EventName, type MethodArgs, type MethodName, type MethodResult, type RunArgs, type StreamName } from '../../common/contract.ts';
import type { ContainerInspect } from '../../common/docker.ts';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { NOT_A_KEY, readKeyFile, SshKeyError } from '../../common/sshKeys.ts';
import { CodedError, isCodedError } from '../../common/errors.ts';
import { formatBind, toPortBindings } from '../../common/grammar/index.ts';
import type { ContainerCreateOptions } from '../../common/models.ts';
import { ValidationError } from '../../common/validate.ts';
import { Disposables, type Disposer } from '../../common/disposable.ts';
import type { Backend } from '../backend/backend.ts';
import { JobManager } from './jobs.ts';
import { packFolder, scanFolder } from './buildContext.ts';
import { dockerfileStages, summarizeBuild } from '../../common/build.ts';
import { openTerminal, type StreamHandle, type StreamSink } from './terminalSession.ts';
import { containerSummary, eventView, imageView, networkSummary, volumeSummary } from './views.ts';

export type CallResult = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };
type Handlers = { [M in MethodName]: (a: MethodArgs<M>) => Promise<MethodResult<M>> | MethodResult<M> };

export function errorData(e: unknown): { code: string; message: string } {
  if (isCodedError(e) || e instanceof ValidationError) return { code: e.code, message: e.message };
  const err = e as { code?: string; message?: string };
  return { code: 'INTERNAL', message: err?.message ?? String(e) };
}

export class ContractHost {
  private readonly listeners = new Set<(name: EventName, payload: unknown) => void>();
  private readonly owned = new Disposables();
  private readonly jobs: JobManager;
  private imagesTimer?: NodeJS.Timeout;

  constructor(private readonly backend: Backend, private readonly info: { version: string; dockerSocket?: string }) {
    this.jobs = new JobManager((j) => this.broadcast('job', j));
    this.owned.add(this.jobs);
    this.owned.add(() => clearTimeout(this.imagesTimer));
    this.owned.add(backend.stats.subscribe((s) => this.broadcast('stats', s)));
    this.owned.add(backend.stats.onMark((m) => this.broadcast('mark', m)));
    this.owned.add(backend.images.onBuild((r) => this.broadcast('build', summarizeBuild(r))));
    this.owned.add(backend.system.events((e) => {
      this.broadcast('engine', eventView(e));
      if (e.Type === 'image' || (e.Type === 'container' && (e.Action === 'create' || e.Action === 'destroy'))) this.imagesChanged();
      if (e.Type !== 'container') return;
      const id = e.Actor.ID;
      if (e.Action === 'destroy') return this.broadcast('container', { id, summary: null });
      backend.containers.inspect(id).then(
        (c) => this.broadcast('container', { id, summary: containerSummary(c) }),
        () => undefined, // removed meanwhile: its destroy event follows
      );
    }));
  }

  onEvent(listener: (name: EventName, payload: unknown) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async call(method: string, args: unknown): Promise<CallResult> {
    try {
      if (!Object.hasOwn(methods, method)) throw new ValidationError(`unknown method ${method}`);
      const m = method as MethodName;
      const parsed = methods[m].args(args ?? {}, '');
      const value = await (this.handlers[m] as (a: unknown) => unknown)(parsed);
      return { ok: true, value: value ?? null };
    } catch (e) {
      return { ok: false, error: errorData(e) };
    }
  }

  /** Opens a stream; throws (as data, through the transport) when the arguments or target are bad. */
  open(name: string, args: unknown, sink: StreamSink<unknown>): StreamHandle<unknown> {
    if (!Object.hasOwn(streams, name)) throw new ValidationError(`unknown stream ${name}`);
    const s = name as StreamName;
    if (s === 'terminal') {
      const h = openTerminal(this.backend, streams.terminal.args(args, ''), sink as StreamSink<string>);
      return { input: (i) => h.input(streams.terminal.input(i, 'input')), close: () => h.close() };
    }
    const a = streams.logs.args(args, '');
    const abort = new AbortController();
    void (async () => {
      let batch: unknown[] = [];
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        clearTimeout(timer);
        timer = undefined;
        if (batch.length) sink.data(batch);
        batch = [];
      };
      try {
        const c = await this.backend.containers.inspect(a.id);
        for await (const l of this.backend.containers.logs(c.Id, { follow: a.follow, tail: a.tail, signal: abort.signal })) {
          batch.push({ stream: l.stream, time: l.time, text: l.text });
          if (batch.length >= 2000) flush();
          else timer ??= setTimeout(flush, 30);
        }
        flush();
        sink.end();
      } catch (e) {
        clearTimeout(timer);
        sink.end(abort.signal.aborted ? undefined : (e as Error));
      }
    })();
    return { input: () => undefined, close: () => abort.abort() };
  }

  dispose(): void {
    this.owned.dispose();
    this.listeners.clear();
  }

  private broadcast<E extends EventName>(name: E, payload: EventMap[E]): void {
    for (const l of this.listeners) l(name, payload);
  }

  private imagesChanged(): void {
    this.imagesTimer ??= setTimeout(() => {
      this.imagesTimer = undefined;
      void this.imageViews().then((v) => this.broadcast('images', v), () => undefined);
    }, 100);
  }

  private async imageViews() {
    return (await this.backend.images.list()).map(imageView);
  }

  /** Every container's inspect (lists in Docker's API lack state times and limits). */
  private async inspectAll(): Promise<ContainerInspect[]> {
    const list = await this.backend.containers.list({ all: true });
    const out = await Promise.all(list.map((c) => this.backend.containers.inspect(c.Id).catch(() => undefined)));
    return out.filter((c): c is ContainerInspect => c !== undefined);
  }

  private readonly handlers: Handlers = {
    'system.info': async () => {
      const i = await this.backend.system.info();
      const warnings = (Array.isArray(i.Warnings) ? i.Warnings as string[] : []).map((w) => w.replace(/^WARNING:\s*/, ''));
      const limits = i.MemoryLimit !== false;
      return {
        version: this.info.version, kernel: i.KernelVersion, cgroupMode: typeof i.BerthCgroupMode === 'string' ? i.BerthCgroupMode : `v${i.CgroupVersion}`,
        root: i.DockerRootDir, cpus: i.NCPU, memory: i.MemTotal, dockerSocket: this.info.dockerSocket,
        rootless: Array.isArray(i.SecurityOptions) && (i.SecurityOptions as string[]).includes('name=rootless'),
        limits, limitsReason: limits ? undefined : (typeof i.BerthLimitsReason === 'string' && i.BerthLimitsReason) || warnings.find((w) => /cgroup/i.test(w)) || 'this engine cannot enforce resource limits',
        warnings,
      };
    },
    'containers.list': async () => (await this.inspectAll()).map(containerSummary),
    'containers.inspect': async ({ id }) => (await this.backend.containers.inspect(id)) as unknown as Record<string, unknown>,
    'containers.run': async (a) => {
      const c = await this.backend.containers.create(createOptions(a));
      try {
        await this.backend.containers.start(c.Id);
      } catch (e) {
        await this.backend.containers.remove(c.Id, { force: true }).catch(() => undefined);
        throw e;
      }
      return { id: c.Id };
    },
    // Starting a running container or stopping a stopped one is done already.
    'containers.start': ({ id }) => idempotent(this.backend.containers.start(id)),
    'containers.stop': ({ id, timeout }) => idempotent(this.backend.containers.stop(id, { timeout })),
    'containers.restart': ({ id }) => nil(this.backend.containers.restart(id)),
    'containers.pause': ({ id }) => nil(this.backend.containers.pause(id)),
    'containers.unpause': ({ id }) => nil(this.backend.containers.unpause(id)),
    'containers.kill': ({ id, signal }) => nil(this.backend.containers.kill(id, signal)),
    'containers.remove': ({ id, force }) => nil(this.backend.containers.remove(id, { force })),
    'containers.statsHistory': async ({ id }) => this.backend.stats.history((await this.backend.containers.inspect(id)).Id),
    'images.list': () => this.imageViews(),
    'images.inspect': async ({ id }) => ({ inspect: await this.backend.images.inspect(id), history: await this.backend.images.history(id) }),
    'images.pull': ({ ref }) => ({
      jobId: this.jobs.start('pull', ref, async (j) => {
        await this.backend.images.pull(ref, { onProgress: j.progress, signal: j.signal });
        const img = await this.backend.images.inspect(ref);
        return `pulled ${ref} (${img.Id.slice(7, 19)})`;
      }),
    }),
    'images.push': ({ ref }) => ({
      jobId: this.jobs.start('push', ref, async (j) => {
        const r = await this.backend.images.push(ref, { onProgress: j.progress, signal: j.signal });
        return `pushed ${ref}: ${r.digest}`;
      }),
    }),
    'images.tag': ({ id, target }) => nil(this.backend.images.tag(id, target)),
    'images.remove': async ({ id, force }) => {
      const items = await this.backend.images.remove(id, { force });
      return { untagged: items.flatMap((i) => (i.Untagged ? [i.Untagged] : [])), deleted: items.flatMap((i) => (i.Deleted ? [i.Deleted] : [])) };
    },
    'images.prune': ({ all }) => ({
      jobId: this.jobs.start('prune', all ? 'unused images' : 'dangling images', async () => {
        const r = await this.backend.images.prune({ all });
        this.imagesChanged();
        return `removed ${r.ImagesDeleted?.filter((d) => d.Deleted).length ?? 0} images, reclaimed ${r.SpaceReclaimed} bytes`;
      }),
    }),
    'images.commit': async ({ id, repo, comment }) => {
      const [name, tag] = repo ? splitTag(repo) : [undefined, undefined];
      return { id: (await this.backend.images.commit(id, { repo: name, tag, comment })).Id };
    },
    'builds.list': async () => (await this.backend.images.builds()).map(summarizeBuild),
    'builds.get': ({ id }) => this.backend.images.buildRecord(id),
    'builds.remove': ({ id }) => nil(this.backend.images.removeBuildRecord(id)),
    'builds.cancel': ({ id }) => nil(this.backend.images.cancelBuild(id)),
    'builds.inspectFolder': ({ folder, dockerfile }) => {
      const ctx = scanFolder(folder, dockerfile || undefined);
      return { stages: dockerfileStages(ctx.dockerfileText), files: ctx.files, bytes: ctx.bytes, dockerfile: ctx.dockerfileText };
    },
    'builds.cache': async ({ prune }) => {
      const reclaimed = prune ? (await this.backend.system.pruneCache()).SpaceReclaimed : undefined;
      const cache = (await this.backend.system.diskUsage()).BuildCache as { Size?: number }[];
      return { entries: cache.length, bytes: cache.reduce((n, c) => n + (c.Size ?? 0), 0), reclaimed };
    },
    'builds.start': (a) => {
      const ctx = scanFolder(a.folder, a.dockerfile || undefined);
      const secrets = readSecrets(a.secrets);
      const { keys: ssh, agents: sshAgents } = readSshKeys(a.ssh, process.env);
      const title = a.tags?.[0] ?? a.folder.split('/').filter(Boolean).pop() ?? a.folder;
      return {
        jobId: this.jobs.start('build', title, async (j) => {
          const id = await this.backend.images.build(packFolder(ctx), {
            dockerfile: ctx.dockerfile, tags: a.tags, buildArgs: a.buildArgs, target: a.target || undefined, nocache: a.nocache, pull: a.pull, context: a.folder,
            secrets, ssh, sshAgents, forcerm: true, // the app leaves no step containers behind, failed or not
          }, {
            stream: (text) => {
              if (text.startsWith('Step ')) j.progress({ status: text.trim() });
            },
            aux: () => undefined,
            progress: j.progress,
          }, j.signal);
          this.imagesChanged();
          return `built ${a.tags?.join(', ') || id.slice(7, 19)}`;
        }),
      };
    },
    'jobs.list': () => this.jobs.list(),
    'jobs.cancel': ({ jobId }) => {
      if (!this.jobs.cancel(jobId)) throw new CodedError('NOT_FOUND', `job ${jobId} is not running`);
      return null;
    },
    'events.recent': async () => (await this.backend.system.recentEvents()).slice(-200).map(eventView),
    'networks.list': async () => {
      const [nets, containers] = await Promise.all([this.backend.networks.list(), this.inspectAll()]);
      return nets.map((n) => networkSummary(n, containers));
    },
    'networks.create': async ({ name, subnet, internal }) => ({
      id: (await this.backend.networks.create({ Name: name, Internal: internal, IPAM: subnet ? { Config: [{ Subnet: subnet }] } : undefined })).Id,
    }),
    'networks.remove': ({ id }) => nil(this.backend.networks.remove(id)),
    'volumes.list': async () => {
      const [vols, containers] = await Promise.all([this.backend.volumes.list(), this.inspectAll()]);
      return vols.map((v) => volumeSummary(v, containers));
    },
    'volumes.create': async ({ name }) => ({ name: (await this.backend.volumes.create({ Name: name })).Name }),
    'volumes.browse': ({ id, path }) => this.backend.volumes.browse(id, path),
    'volumes.remove': ({ id, force }) => nil(this.backend.volumes.remove(id, force)),
    // The app's side answers these (engines.ts) before a call reaches an engine's host.
    'engines.list': noEngines, 'engines.use': noEngines, 'engines.save': noEngines, 'engines.remove': noEngines,
    'engines.makeDefault': noEngines, 'engines.containers': noEngines,
    'machines.list': noEngines, 'machines.create': noEngines, 'machines.start': noEngines, 'machines.stop': noEngines,
    'machines.set': noEngines, 'machines.remove': noEngines, 'machines.console': noEngines,
  };
}

const noEngines = (): never => {
  throw new CodedError('UNSUPPORTED', 'this connection reaches one engine only; engines and machines are managed in the app');
};

/** `repo:tag` → [repo, tag]; a registry port is not a tag. */
function splitTag(ref: string): [string, string | undefined] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, undefined];
}

const nil = async (p: Promise<unknown>): Promise<null> => {
  await p;
  return null;
};

const idempotent = (p: Promise<unknown>): Promise<null> => nil(p.catch((e) => {
  if (!isCodedError(e, 'NOT_MODIFIED')) throw e;
}));

/** The run form's structured values → Docker-shaped create options (nothing is parsed again). */
export function createOptions(a: RunArgs): ContainerCreateOptions {
  return {
    Image: a.image, name: a.name, Cmd: a.cmd?.length ? a.cmd : undefined, Env: a.env, Tty: a.tty, OpenStdin: a.tty, Labels: a.labels,
    HostConfig: {
      Binds: a.binds?.map(formatBind), Memory: a.memory, NanoCpus: a.cpus ? Math.round(a.cpus * 1e9) : undefined,
      RestartPolicy: { Name: a.restart ?? 'no' }, PortBindings: toPortBindings(a.ports ?? []), NetworkMode: a.network || undefined,
    },
  };
}

/**
 * The build form's SSH keys: id → key files (comma-separated, `~` for the home directory), read
 * and checked now: a key with a passphrase or a file that is no key is refused before the build.
 * An id with no path (or with one that is a socket) is a running agent, SSH_AUTH_SOCK's by default.
 */
function readSshKeys(spec: Record<string, string> | undefined, env: NodeJS.ProcessEnv): { keys?: Record<string, Buffer[]>; agents?: Record<string, string> } {
  if (!spec) return {};
  const out: Record<string, Buffer[]> = {};
  const agents: Record<string, string> = {};
  for (const [id, list] of Object.entries(spec)) {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) throw new CodedError('INVALID_ARGUMENT', `ssh id "${id}": use letters, digits, '.', '-' or '_'`);
    const paths = list.split(',').map((p) => p.trim().replace(/^~(?=\/|$)/, homedir())).filter(Boolean);
    const socket = paths.length ? paths.find((p) => statSync(p, { throwIfNoEntry: false })?.isSocket()) : env.SSH_AUTH_SOCK;
    if (!paths.length && !socket) {
      throw new CodedError('INVALID_ARGUMENT', `ssh ${id}: no SSH agent is running for the app (SSH_AUTH_SOCK is not set): start one, or give key files (${id}=~/.ssh/id_ed25519)`);
    }
    if (socket) {
      if (paths.length > 1) throw new CodedError('INVALID_ARGUMENT', `ssh ${id}: ${socket} is an agent's socket: give it alone, or key files only`);
      agents[id] = socket;
      continue;
    }
    out[id] = paths.map((path) => {
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (e) {
        throw new CodedError('INVALID_ARGUMENT', `ssh key ${id}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): give the path of a private key file`);
      }
      const why = sshKeyProblem(data);
      if (why) throw new CodedError('INVALID_ARGUMENT', `ssh key ${id}: ${path}: ${why}`);
      return data;
    });
  }
  return { keys: Object.keys(out).length ? out : undefined, agents: Object.keys(agents).length ? agents : undefined };
}

/** Why a file cannot serve as an SSH key, or undefined when it can. */
function sshKeyProblem(data: Buffer): string | undefined {
  const text = data.toString('utf8');
  try {
    if (readKeyFile(text) === 'pem') createPrivateKey(text);
    return undefined;
  } catch (e) {
    return e instanceof SshKeyError ? e.message : NOT_A_KEY;
  }
}

/** BuildKit's limit on one secret. */
const SECRET_MAX = 500 * 1024;

/** The build form's secrets: id → a file, read now, so a bad one is refused before the build starts. */
function readSecrets(paths: Record<string, string> | undefined): Record<string, Buffer> | undefined {
  if (!paths) return undefined;
  const out: Record<string, Buffer> = {};
  for (const [id, path] of Object.entries(paths)) {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) throw new CodedError('INVALID_ARGUMENT', `secret id "${id}": use letters, digits, '.', '-' or '_'`);
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new CodedError('INVALID_ARGUMENT', `secret ${id}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): give the path of a readable file`);
    }
    if (data.length > SECRET_MAX) throw new CodedError('INVALID_ARGUMENT', `secret ${id}: ${path} is larger than 500 KiB`);
    out[id] = data;
  }
  return out;
}
