// Serves common/contract.ts against the engine for any transport (Electron IPC, web-mode
// WebSocket): validates arguments, runs the handler, returns errors as data, broadcasts
// container/image/job/stats deltas. Handlers are short adapters over engine calls.
import { availableParallelism, release, totalmem } from 'node:os';
import { methods, streams, type EventMap, type EventName, type MethodArgs, type MethodName, type MethodResult, type RunArgs, type StreamName } from '../../common/contract.ts';
import type { ContainerCreateOptions, PortMap } from '../../common/models.ts';
import { ValidationError } from '../../common/validate.ts';
import type { Engine } from '../engine/engine.ts';
import { invalid, isEngineError, notFound } from '../engine/errors.ts';
import type { Disposer } from '../engine/events/eventBus.ts';
import { StatsSampler } from '../engine/stats/statsSampler.ts';
import { JobManager } from './jobs.ts';
import { openTerminal, type StreamHandle, type StreamSink } from './terminalSession.ts';
import { containerSummary, eventView, imageViews, networkViews, volumeViews } from './views.ts';

export type CallResult = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };
type Handlers = { [M in MethodName]: (a: MethodArgs<M>) => Promise<MethodResult<M>> | MethodResult<M> };

export function errorData(e: unknown): { code: string; message: string } {
  if (isEngineError(e) || e instanceof ValidationError) return { code: e.code, message: e.message };
  const err = e as { code?: string; message?: string };
  return { code: 'INTERNAL', message: err?.message ?? String(e) };
}

export class ContractHost {
  private readonly listeners = new Set<(name: EventName, payload: unknown) => void>();
  private readonly disposers: Disposer[] = [];
  private readonly jobs: JobManager;
  readonly sampler: StatsSampler;
  private imagesTimer?: NodeJS.Timeout;

  constructor(private readonly engine: Engine, private readonly info: { version: string; dockerSocket?: string }) {
    this.jobs = new JobManager((j) => this.broadcast('job', j));
    this.sampler = new StatsSampler({
      running: () => engine.containers.list(false).filter((c) => c.State.Running && !c.State.Paused).map((c) => c.Id),
      target: (id) => engine.usageTarget(id),
    });
    this.disposers.push(this.sampler.on((s) => this.broadcast('stats', s)));
    this.disposers.push(engine.events.on((e) => {
      this.broadcast('engine', eventView(e));
      if (e.Type === 'image' || (e.Type === 'container' && (e.Action === 'create' || e.Action === 'destroy'))) this.imagesChanged();
      if (e.Type !== 'container') return;
      const id = e.Actor.ID;
      if (e.Action === 'destroy') {
        this.sampler.forget(id);
        return this.broadcast('container', { id, summary: null });
      }
      if (!engine.containers.exists(id)) return;
      const summary = containerSummary(engine.containers.get(id));
      this.broadcast('container', { id, summary });
      const kind = e.Action === 'oom' ? 'oom' : e.Action === 'die' ? 'die' : e.Action === 'start' ? (summary.restartCount > 0 ? 'restart' : 'start') : undefined;
      if (kind) {
        const m = { id, t: Date.now(), kind } as const;
        this.sampler.mark(m);
        this.broadcast('mark', m);
      }
      if (e.Action === 'start') this.sampler.wake();
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
      const h = openTerminal(this.engine, streams.terminal.args(args, ''), sink as StreamSink<string>);
      return { input: (i) => h.input(streams.terminal.input(i, 'input')), close: () => h.close() };
    }
    const a = streams.logs.args(args, '');
    const r = this.engine.inspect(a.id);
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
        for await (const l of this.engine.logs(r.Id, { follow: a.follow, tail: a.tail, signal: abort.signal })) {
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
    clearTimeout(this.imagesTimer);
    for (const d of this.disposers.splice(0)) d();
    this.sampler.stop();
    this.jobs.dispose();
  }

  private broadcast<E extends EventName>(name: E, payload: EventMap[E]): void {
    for (const l of this.listeners) l(name, payload);
  }

  private imagesChanged(): void {
    this.imagesTimer ??= setTimeout(() => {
      this.imagesTimer = undefined;
      this.broadcast('images', imageViews(this.engine));
    }, 100);
  }

  private readonly handlers: Handlers = {
    'system.info': () => ({
      version: this.info.version, kernel: release(), cgroupMode: this.engine.cgroupMode, root: this.engine.root,
      cpus: availableParallelism(), memory: totalmem(), dockerSocket: this.info.dockerSocket,
    }),
    'containers.list': () => this.engine.containers.list(true).map(containerSummary),
    'containers.inspect': ({ id }) => {
      const { runtime: _runtime, ...rest } = this.engine.inspect(id);
      return rest as unknown as Record<string, unknown>;
    },
    'containers.run': async (a) => {
      const c = await this.engine.create(createOptions(a));
      try {
        await this.engine.start(c.Id);
      } catch (e) {
        await this.engine.containers.remove(c.Id, { force: true }).catch(() => undefined);
        throw e;
      }
      return { id: c.Id };
    },
    'containers.start': ({ id }) => nil(this.engine.start(id)),
    'containers.stop': ({ id, timeout }) => nil(this.engine.containers.stop(id, { timeout })),
    'containers.restart': ({ id }) => nil(this.engine.containers.restart(id)),
    'containers.pause': ({ id }) => nil(this.engine.containers.pause(id)),
    'containers.unpause': ({ id }) => nil(this.engine.containers.unpause(id)),
    'containers.kill': ({ id, signal }) => nil(this.engine.containers.kill(id, signal)),
    'containers.remove': ({ id, force }) => nil(this.engine.containers.remove(id, { force })),
    'containers.statsHistory': ({ id }) => this.sampler.get(this.engine.inspect(id).Id),
    'images.list': () => imageViews(this.engine),
    'images.inspect': ({ id }) => ({ inspect: this.engine.inspectImage(id), history: this.engine.imageHistory(id) }),
    'images.pull': ({ ref }) => ({
      jobId: this.jobs.start('pull', ref, async (j) => {
        const img = await this.engine.pull(ref, { onProgress: j.progress, signal: j.signal });
        return `pulled ${ref} (${img.id.slice(7, 19)})`;
      }),
    }),
    'images.push': ({ ref }) => ({
      jobId: this.jobs.start('push', ref, async (j) => {
        const r = await this.engine.push(ref, { onProgress: j.progress, signal: j.signal });
        return `pushed ${ref}: ${r.digest}`;
      }),
    }),
    'images.tag': ({ id, target }) => {
      this.engine.tagImage(id, target);
      return null;
    },
    'images.remove': ({ id, force }) => this.engine.removeImage(id, { force }),
    'images.prune': ({ all }) => ({
      jobId: this.jobs.start('prune', all ? 'unused images' : 'dangling images', async () => {
        const r = this.engine.pruneImages({ all });
        this.imagesChanged();
        return `removed ${r.ImagesDeleted?.filter((d) => d.Deleted).length ?? 0} images, reclaimed ${r.SpaceReclaimed} bytes`;
      }),
    }),
    'jobs.list': () => this.jobs.list(),
    'jobs.cancel': ({ jobId }) => {
      if (!this.jobs.cancel(jobId)) throw notFound(`job ${jobId} is not running`);
      return null;
    },
    'events.recent': () => this.engine.events.recent().slice(-200).map(eventView),
    'networks.list': () => networkViews(this.engine),
    'networks.create': async ({ name, subnet, internal }) => ({
      id: (await this.engine.networks.create({ Name: name, Internal: internal, IPAM: subnet ? { Config: [{ Subnet: subnet }] } : undefined })).Id,
    }),
    'networks.remove': ({ id }) => nil(this.engine.networks.remove(id)),
    'volumes.list': () => volumeViews(this.engine),
    'volumes.create': ({ name }) => ({ name: this.engine.volumes.create({ Name: name }).Name }),
    'volumes.browse': ({ id, path }) => this.engine.volumes.browse(id, path),
    'volumes.remove': ({ id, force }) => {
      this.engine.volumes.remove(id, force);
      return null;
    },
  };
}

const nil = async (p: Promise<unknown>): Promise<null> => {
  await p;
  return null;
};

/** The run form → Docker-shaped create options. */
export function createOptions(a: RunArgs): ContainerCreateOptions {
  const PortBindings: PortMap = {};
  for (const spec of a.ports ?? []) {
    const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(?:(\d{0,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec.trim());
    if (!m) throw invalid(`invalid port specification: "${spec}": use [ip:]host:container[/tcp|udp]`);
    (PortBindings[`${m[3]}/${m[4] ?? 'tcp'}`] ??= []).push({ HostIp: m[1] ?? '', HostPort: m[2] ?? '' });
  }
  return {
    Image: a.image, name: a.name, Cmd: a.cmd?.length ? a.cmd : undefined, Env: a.env, Tty: a.tty, OpenStdin: a.tty, Labels: a.labels,
    HostConfig: {
      Binds: a.binds, Memory: a.memory, NanoCpus: a.cpus ? Math.round(a.cpus * 1e9) : undefined,
      RestartPolicy: { Name: a.restart ?? 'no' }, PortBindings, NetworkMode: a.network || undefined,
    },
  };
}
