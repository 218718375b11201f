// The engines the app can show: Berth's own (in this process or relayed to its contract
// socket), every docker context of the CLI's store, and DOCKER_HOST. Each other engine is a
// Docker API client backend with its own ContractHost, made when first shown and kept while
// the app runs. Each UI connection shows one engine at a time (EngineConnection) and can switch;
// the choice is remembered in the app's settings. Calls named engines.* are answered here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ClientMessage, MethodArgs, ServerMessage } from '../../common/contract.ts';
import { methods } from '../../common/contract.ts';
import { CodedError } from '../../common/errors.ts';
import type { EngineContainer, EngineStatus, EngineView, MachineView } from '../../common/views.ts';
import { ValidationError } from '../../common/validate.ts';
import { DockerApiBackend } from '../backend/dockerApi/backend.ts';
import type { Endpoint } from '../backend/dockerApi/transport.ts';
import { ContractHost, errorData } from './contractHost.ts';
import { inProcess, RelayConnection, type Connection, type ConnectionFactory } from './contractSocket.ts';
import { ContextStore, type ContextProblem } from './dockerContexts.ts';
import type { Channel } from './uiConnection.ts';

export const OWN_ENGINE = 'berth';

export interface OwnEngine {
  /** its Docker API socket (unix:///…), for status and for the docker context */
  host: string;
  connect: ConnectionFactory;
}

interface Entry {
  name: string;
  source: EngineView['source'];
  endpoint: Endpoint;
  description: string;
}

interface Remote {
  backend: DockerApiBackend;
  host: ContractHost;
  /** the key of the endpoint it was made for: an edited context gets a new client */
  key: string;
}

/** The app's machines (electron/machine/machineControl.ts), handed in by the composition root. */
export interface Machines {
  list(): Promise<MachineView[]>;
  create(a: MethodArgs<'machines.create'>): Promise<void>;
  start(name: string): Promise<void>;
  stop(name: string, force?: boolean): Promise<void>;
  set(name: string, r: Omit<MethodArgs<'machines.set'>, 'name'>): Promise<void>;
  remove(name: string, force?: boolean): Promise<void>;
  console(name: string): { lines: string[] };
  onChange(fn: (m: MachineView) => void): () => void;
}

export function appConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'berth');
}

export class Engines {
  readonly store: ContextStore;
  private readonly remotes = new Map<string, Remote>();
  private readonly settingsFile: string;
  private ownClient?: DockerApiBackend;

  constructor(private readonly own: OwnEngine, private readonly opts: { version: string; env?: NodeJS.ProcessEnv; configDir?: string; statusTimeoutMs?: number; machines?: Machines }) {
    const env = opts.env ?? process.env;
    this.store = new ContextStore(env);
    this.settingsFile = join(opts.configDir ?? appConfigDir(env), 'engine.json');
  }

  /** Every engine by name: Berth's own first, then DOCKER_HOST, then the contexts. */
  entries(): { entries: Entry[]; problems: ContextProblem[] } {
    const env = this.opts.env ?? process.env;
    const out: Entry[] = [{ name: OWN_ENGINE, source: 'berth', endpoint: { host: this.own.host }, description: "Berth's engine" }];
    if (env.DOCKER_HOST && env.DOCKER_HOST !== this.own.host) {
      const tlsDir = env.DOCKER_CERT_PATH || this.store.dir;
      const tls = env.DOCKER_TLS_VERIFY ? { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem') } : undefined;
      out.push({ name: 'DOCKER_HOST', source: 'env', endpoint: { host: env.DOCKER_HOST, ...(tls ? { tls } : {}) }, description: 'from the DOCKER_HOST variable' });
    }
    const { contexts, problems } = this.store.list();
    for (const c of contexts) {
      // The context Berth registers for itself is its own engine, not a second one.
      if (c.name === OWN_ENGINE || c.name === 'default' || out.some((e) => e.name === c.name)) continue;
      const tls = c.tls || c.skipVerify ? { ...c.tls, skipVerify: c.skipVerify } : undefined;
      out.push({ name: c.name, source: 'context', endpoint: { host: c.host, ...(tls && c.host.startsWith('tcp://') ? { tls } : {}) }, description: c.description });
    }
    return { entries: out, problems };
  }

  private entry(name: string): Entry {
    const e = this.entries().entries.find((x) => x.name === name);
    if (!e) throw new CodedError('NOT_FOUND', `no engine named "${name}": it is neither Berth's engine, DOCKER_HOST nor a docker context`);
    return e;
  }

  /** The engine a new window shows: the remembered one while it still exists, else Berth's. */
  remembered(): string {
    try {
      const name = (JSON.parse(readFileSync(this.settingsFile, 'utf8')) as { engine?: unknown }).engine;
      if (typeof name === 'string' && this.entries().entries.some((e) => e.name === name)) return name;
    } catch {
      /* nothing remembered yet */
    }
    return OWN_ENGINE;
  }

  remember(name: string): void {
    try {
      mkdirSync(join(this.settingsFile, '..'), { recursive: true, mode: 0o700 });
      writeFileSync(this.settingsFile, JSON.stringify({ engine: name }));
    } catch {
      /* a read-only home: the choice lasts for this run */
    }
  }

  /** A client of the engine, made once per address. */
  private remote(name: string): Remote {
    const e = this.entry(name);
    const key = JSON.stringify(e.endpoint);
    const had = this.remotes.get(name);
    if (had && had.key === key) return had;
    if (had) this.drop(name);
    const backend = new DockerApiBackend(name, e.endpoint);
    const host = new ContractHost(backend, { version: this.opts.version, dockerSocket: e.endpoint.host });
    const r = { backend, host, key };
    this.remotes.set(name, r);
    return r;
  }

  private drop(name: string): void {
    const r = this.remotes.get(name);
    if (!r) return;
    this.remotes.delete(name);
    r.host.dispose();
    r.backend.dispose();
  }

  get machines(): Machines | undefined {
    return this.opts.machines;
  }

  /** A connection to one engine's contract, and a way to hear when that engine is lost. */
  open(name: string, channel: Channel): Connection {
    if (name === OWN_ENGINE) return this.own.connect(channel);
    // Berth's engine in a machine forwards its contract beside its docker socket: the app gets
    // all of Berth's features there (build records, the volume browser, its own stats).
    const contract = berthContract(this.entry(name).endpoint.host);
    if (contract) return new RelayConnection(contract, channel);
    const r = this.remote(name);
    const conn = inProcess(r.host)(channel);
    const off = r.backend.onState((state, detail) => channel.send({ t: 'state', state, detail: state === 'lost' ? `engine "${name}": ${detail ?? 'connection lost'}; reconnecting…` : undefined }));
    return { receive: (m) => conn.receive(m), dispose: () => (off(), conn.dispose()) };
  }

  /** For status and the all-engines view: a client per engine, Berth's own over its socket too. */
  private client(name: string): DockerApiBackend {
    if (name === OWN_ENGINE) return (this.ownClient ??= new DockerApiBackend(OWN_ENGINE, { host: this.own.host }));
    return this.remote(name).backend;
  }

  private timed<T>(name: string, p: Promise<T>): Promise<T> {
    const ms = this.opts.statusTimeoutMs ?? 4000;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new CodedError('UNAVAILABLE', `engine "${name}" did not answer within ${ms / 1000} s`)), ms))),
    ]);
  }

  async status(name: string): Promise<EngineStatus> {
    try {
      const info = await this.timed(name, this.client(name).system.info());
      const os = [info.OperatingSystem, info.Architecture].filter(Boolean).join(', ');
      return { reachable: true, version: String(info.ServerVersion ?? ''), os, containers: Number(info.Containers ?? 0), running: Number(info.ContainersRunning ?? 0) };
    } catch (e) {
      return { reachable: false, error: errorData(e).message };
    }
  }

  async list(current: string): Promise<EngineView[]> {
    const { entries, problems } = this.entries();
    const cliDefault = this.store.current();
    const views = await Promise.all(entries.map(async (e): Promise<EngineView> => ({
      name: e.name, host: e.endpoint.host, description: e.description, source: e.source, current: e.name === current,
      dockerDefault: e.name === cliDefault, tls: !!e.endpoint.tls, status: await this.status(e.name),
    })));
    // A context file that cannot be read is shown as what it is, with its path.
    for (const p of problems) {
      views.push({ name: p.file.split('/').at(-2)!.slice(0, 12), host: '', description: p.file, source: 'context', current: false, dockerDefault: false, tls: false, status: { reachable: false, error: `unreadable context ${p.file}: ${p.error}` } });
    }
    return views;
  }

  async containers(): Promise<{ containers: EngineContainer[]; errors: { engine: string; error: string }[] }> {
    const containers: EngineContainer[] = [];
    const errors: { engine: string; error: string }[] = [];
    await Promise.all(this.entries().entries.map(async (e) => {
      try {
        for (const c of await this.timed(e.name, this.client(e.name).containers.list())) {
          containers.push({ engine: e.name, id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image, status: c.Status });
        }
      } catch (err) {
        errors.push({ engine: e.name, error: errorData(err).message });
      }
    }));
    return { containers, errors };
  }

  save(a: MethodArgs<'engines.save'>): void {
    if (a.name === OWN_ENGINE || a.name === 'DOCKER_HOST') throw new CodedError('INVALID_ARGUMENT', `"${a.name}" is ${a.name === OWN_ENGINE ? "Berth's own engine" : 'the DOCKER_HOST variable'}; give the context another name`);
    this.store.save(a);
    this.drop(a.name);
  }

  remove(name: string): void {
    if (name === OWN_ENGINE || name === 'DOCKER_HOST') throw new CodedError('INVALID_ARGUMENT', `"${name}" is not a docker context the app can remove`);
    this.store.remove(name);
    this.drop(name);
  }

  makeDefault(name: string): void {
    if (name === 'DOCKER_HOST') throw new CodedError('INVALID_ARGUMENT', 'DOCKER_HOST is a variable, not a context; unset it or save it as a context first');
    this.entry(name);
    this.store.setCurrent(name);
  }

  dispose(): void {
    for (const name of [...this.remotes.keys()]) {
      const r = this.remotes.get(name)!;
      this.remotes.delete(name);
      r.host.dispose();
      r.backend.dispose();
    }
    this.ownClient?.dispose();
  }
}

/**
 * One UI connection that shows one engine and can switch: engines.* calls are answered here,
 * everything else goes to the current engine's connection. A switch ends the open streams
 * (terminals, logs) and tells the UI to read every list again.
 */
export class EngineConnection implements Connection {
  private inner: Connection;
  private current: string;
  private readonly streams = new Set<number>();
  private readonly offMachines?: () => void;

  constructor(private readonly engines: Engines, private readonly channel: Channel, initial?: string) {
    this.current = initial ?? engines.remembered();
    this.inner = this.openInner(this.current);
    this.offMachines = engines.machines?.onChange((m) => channel.send({ t: 'event', name: 'machine', payload: m }));
  }

  private openInner(name: string): Connection {
    try {
      return this.engines.open(name, this.channel);
    } catch (e) {
      this.channel.send({ t: 'state', state: 'lost', detail: errorData(e).message });
      return { receive: () => undefined, dispose: () => undefined };
    }
  }

  receive(raw: unknown): void {
    const m = raw as ClientMessage;
    if (typeof m !== 'object' || m === null) return;
    if (m.t === 'call' && typeof m.method === 'string' && (m.method.startsWith('engines.') || m.method.startsWith('machines.'))) {
      void this.call(m.method, m.args).then(
        (value) => this.channel.send({ t: 'result', id: m.id, ok: true, value: value ?? null } as ServerMessage),
        (e) => this.channel.send({ t: 'result', id: m.id, ok: false, error: errorData(e) }),
      );
      return;
    }
    if (m.t === 'open' && typeof m.sid === 'number') this.streams.add(m.sid);
    if (m.t === 'close') this.streams.delete(m.sid);
    this.inner.receive(m);
  }

  private async call(method: string, args: unknown): Promise<unknown> {
    if (!Object.hasOwn(methods, method)) throw new ValidationError(`unknown method ${method}`);
    const e = this.engines;
    switch (method) {
      case 'engines.list': return e.list(this.current);
      case 'engines.containers': return e.containers();
      case 'engines.use': return this.use(methods['engines.use'].args(args, '').name);
      case 'engines.save': return e.save(methods['engines.save'].args(args, ''));
      case 'engines.remove': {
        const { name } = methods['engines.remove'].args(args, '');
        if (name === this.current) throw new CodedError('CONFLICT', `the engine "${name}" is shown in this window; switch to another before removing it`);
        return e.remove(name);
      }
      case 'engines.makeDefault': return e.makeDefault(methods['engines.makeDefault'].args(args, '').name);
    }
    if (method.startsWith('machines.')) return this.machineCall(method, args);
    throw new ValidationError(`unknown method ${method}`);
  }

  private async machineCall(method: string, args: unknown): Promise<unknown> {
    const m = this.engines.machines;
    if (!m) throw new CodedError('UNSUPPORTED', 'machines are managed by the desktop app and `berth daemon --web`; this app runs without them');
    switch (method) {
      case 'machines.list': return m.list();
      case 'machines.create': return m.create(methods['machines.create'].args(args, '')).then(() => null);
      case 'machines.start': return m.start(methods['machines.start'].args(args, '').name).then(() => null);
      case 'machines.stop': {
        const a = methods['machines.stop'].args(args, '');
        return m.stop(a.name, a.force).then(() => null);
      }
      case 'machines.set': {
        const { name, ...r } = methods['machines.set'].args(args, '');
        return m.set(name, r).then(() => null);
      }
      case 'machines.remove': {
        const a = methods['machines.remove'].args(args, '');
        return m.remove(a.name, a.force).then(() => null);
      }
      case 'machines.console': return m.console(methods['machines.console'].args(args, '').name);
    }
    throw new ValidationError(`unknown method ${method}`);
  }

  private use(name: string): null {
    if (!this.engines.entries().entries.some((x) => x.name === name)) throw new CodedError('NOT_FOUND', `no engine named "${name}": it is neither Berth's engine, DOCKER_HOST nor a docker context`);
    if (name === this.current) return null;
    this.inner.dispose();
    for (const sid of this.streams) this.channel.send({ t: 'end', sid, error: { code: 'DISCONNECTED', message: `switched to engine "${name}"` } });
    this.streams.clear();
    this.current = name;
    this.engines.remember(name);
    this.inner = this.openInner(name);
    this.channel.send({ t: 'state', state: 'open' });
    this.channel.send({ t: 'event', name: 'engines', payload: { current: name } });
    return null;
  }

  dispose(): void {
    this.offMachines?.();
    this.inner.dispose();
  }
}

/** The contract socket beside a Berth engine's forwarded docker socket (a machine's), if any. */
export function berthContract(host: string): string | undefined {
  if (!host.startsWith('unix://') || !host.endsWith('/docker.sock')) return undefined;
  const path = join(dirname(host.slice('unix://'.length)), 'contract.sock');
  return existsSync(path) ? path : undefined;
}

/** The connection factory of the app's transports: every window can switch engines. */
export const switchable = (engines: Engines): ConnectionFactory => (channel) => new EngineConnection(engines, channel);
