// The one contract between the UI and the engine host: invoke methods, broadcast events and
// bidirectional streams, each with a runtime validator for what crosses the boundary. The
// Electron IPC host, the web-mode WebSocket host, the preload and renderer/bridge.ts all derive
// from this file; adding a method means adding it here and giving it a handler.
import type { ContainerSummary, EngineContainer, EngineEventView, EngineInfo, EngineView, ImageView, MachineView, JobView, LogLine, NetworkSummary, StatsMark, StatsSample, VolumeListing, VolumeSummary } from './views.ts';
import { checkContainerName, checkEnv, checkVolumeName, checkMemory, checkNetworkName, checkPortBinding, formatBind, parseBindSpec } from './grammar/index.ts';
import { parseReference } from './reference.ts';
import type { BuildRecord, BuildSummary } from './build.ts';
import { arr, as, bool, checked, dict, num, obj, oneOf, optional, str, type Infer, type Validator } from './validate.ts';

const id = str({ min: 1, max: 256 });
/** a docker context's name (docker/cli: ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$) */
const engineName = str({ min: 1, max: 128, pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/ });
const ref = obj({ id });
const machineName = str({ min: 1, max: 63, pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/ });
const machineResources = {
  cpus: optional(num({ min: 1, max: 256, int: true })),
  memoryMiB: optional(num({ min: 512, max: 1024 * 1024, int: true })),
  diskGiB: optional(num({ min: 2, max: 64 * 1024, int: true })),
};
const none = obj({});

/** A published port, structured (the form parses `-p` text with common/grammar's parsePortSpec). */
export const portBinding = checked(obj({
  hostIp: str({ max: 64 }),
  hostPort: str({ max: 16 }),
  containerPort: str({ min: 1, max: 16 }),
  proto: oneOf(['tcp', 'udp', 'sctp'] as const),
}), (b) => checkPortBinding(b));

/** A `-v` mount, structured: a host directory (absolute source) or a named volume. */
export const bindMount = checked(obj({
  source: str({ min: 1, max: 4096 }),
  target: str({ min: 1, max: 4096 }),
  readOnly: optional(bool()),
}), (b) => parseBindSpec(formatBind(b)));

/** The create/run form as it crosses the boundary, structured, every value checked with common/grammar. */
export const runArgs = obj({
  image: checked(str({ min: 1, max: 512 }), parseReference),
  name: optional(checked(str({ max: 256 }), checkContainerName)),
  cmd: optional(arr(str({ max: 65536 }), 1000)),
  env: optional(arr(checked(str({ min: 1, max: 65536 }), checkEnv), 1000)),
  ports: optional(arr(portBinding, 200)),
  binds: optional(arr(bindMount, 200)),
  memory: optional(checked(num({ max: 2 ** 50, int: true }), checkMemory)),
  cpus: optional(num({ min: 0.01, max: 1024 })),
  restart: optional(oneOf(['no', 'on-failure', 'always', 'unless-stopped'] as const)),
  tty: optional(bool()),
  labels: optional(dict(str({ max: 4096 }))),
  network: optional(checked(str({ max: 128 }), checkNetworkName)),
});
export type RunArgs = Infer<typeof runArgs>;

const method = <A, R>(args: Validator<A>, result: Validator<R>) => ({ args, result });

/** A folder to build (on the machine the app's host runs on) and its Dockerfile (default: Dockerfile in it). */
const buildSource = obj({ folder: str({ min: 1, max: 4096 }), dockerfile: optional(str({ max: 4096 })) });

export const methods = {
  'system.info': method(none, as<EngineInfo>()),
  'containers.list': method(none, as<ContainerSummary[]>()),
  'containers.inspect': method(ref, as<Record<string, unknown>>()),
  'containers.run': method(runArgs, as<{ id: string }>()),
  'containers.start': method(ref, as<null>()),
  'containers.stop': method(obj({ id, timeout: optional(num({ min: 0, max: 3600, int: true })) }), as<null>()),
  'containers.restart': method(ref, as<null>()),
  'containers.pause': method(ref, as<null>()),
  'containers.unpause': method(ref, as<null>()),
  'containers.kill': method(obj({ id, signal: optional(str({ max: 16, pattern: /^(SIG)?[A-Z0-9+-]+$/ })) }), as<null>()),
  'containers.remove': method(obj({ id, force: optional(bool()) }), as<null>()),
  'containers.statsHistory': method(ref, as<{ samples: StatsSample[]; marks: StatsMark[] }>()),
  'images.list': method(none, as<ImageView[]>()),
  'images.inspect': method(ref, as<{ inspect: unknown; history: unknown[] }>()),
  'images.pull': method(obj({ ref: str({ min: 1, max: 512 }) }), as<{ jobId: string }>()),
  'images.push': method(obj({ ref: str({ min: 1, max: 512 }) }), as<{ jobId: string }>()),
  'images.tag': method(obj({ id, target: str({ min: 1, max: 512 }) }), as<null>()),
  'images.remove': method(obj({ id, force: optional(bool()) }), as<{ untagged: string[]; deleted: string[] }>()),
  'images.prune': method(obj({ all: optional(bool()) }), as<{ jobId: string }>()),
  'images.commit': method(obj({ id, repo: optional(checked(str({ min: 1, max: 512 }), parseReference)), comment: optional(str({ max: 4096 })) }), as<{ id: string }>()),
  'builds.list': method(none, as<BuildSummary[]>()),
  'builds.get': method(ref, as<BuildRecord>()),
  'builds.remove': method(ref, as<null>()),
  'builds.cancel': method(ref, as<null>()),
  'builds.inspectFolder': method(buildSource, as<{ stages: string[]; files: number; bytes: number; dockerfile: string }>()),
  /** the build cache (cache mounts, partial downloads): its size, or with prune, what a prune freed */
  'builds.cache': method(obj({ prune: optional(bool()) }), as<{ entries: number; bytes: number; reclaimed?: number }>()),
  'builds.start': method(obj({
    folder: str({ min: 1, max: 4096 }),
    dockerfile: optional(str({ max: 4096 })),
    tags: optional(arr(checked(str({ min: 1, max: 512 }), parseReference), 20)),
    buildArgs: optional(dict(str({ max: 65536 }))),
    target: optional(str({ max: 128 })),
    nocache: optional(bool()),
    pull: optional(bool()),
    /** RUN --mount=type=secret: id → a file on this host, read when the build starts */
    secrets: optional(dict(str({ min: 1, max: 4096 }))),
    /**
     * RUN --mount=type=ssh: id → private key files on this host, comma-separated (BuildKit's
     * --ssh id=key1,key2), or a running agent: its socket, or '' for the app's SSH_AUTH_SOCK
     */
    ssh: optional(dict(str({ min: 0, max: 16384 }))),
  }), as<{ jobId: string }>()),
  'jobs.list': method(none, as<JobView[]>()),
  'jobs.cancel': method(obj({ jobId: id }), as<null>()),
  'events.recent': method(none, as<EngineEventView[]>()),
  'networks.list': method(none, as<NetworkSummary[]>()),
  'networks.create': method(obj({ name: checked(str({ min: 1, max: 128 }), checkNetworkName), subnet: optional(str({ max: 64, pattern: /^[\d.]+\/\d{1,2}$/ })), internal: optional(bool()) }), as<{ id: string }>()),
  'networks.remove': method(ref, as<null>()),
  'volumes.list': method(none, as<VolumeSummary[]>()),
  'volumes.create': method(obj({ name: optional(checked(str({ min: 2, max: 128 }), checkVolumeName)) }), as<{ name: string }>()),
  'volumes.remove': method(obj({ id, force: optional(bool()) }), as<null>()),
  'volumes.browse': method(obj({ id, path: str({ max: 4096 }) }), as<VolumeListing>()),
  /** Engines: answered by the app's side (electron/host/engines.ts), whichever engine is shown. */
  'engines.list': method(none, as<EngineView[]>()),
  /** show another engine in this window (and remember it) */
  'engines.use': method(obj({ name: engineName }), as<null>()),
  /** create or change a docker context (the docker CLI sees it) */
  'engines.save': method(obj({
    name: engineName,
    host: str({ min: 1, max: 1024, pattern: /^(unix|tcp|ssh|npipe):\/\/\S+$/ }),
    description: optional(str({ max: 1024 })),
    /** paths of PEM files to use for tcp with TLS */
    ca: optional(str({ max: 4096 })),
    cert: optional(str({ max: 4096 })),
    key: optional(str({ max: 4096 })),
    skipVerify: optional(bool()),
  }), as<null>()),
  'engines.remove': method(obj({ name: engineName }), as<null>()),
  /** make an engine the docker CLI's current context */
  'engines.makeDefault': method(obj({ name: engineName }), as<null>()),
  /** running containers of every reachable engine */
  'engines.containers': method(none, as<{ containers: EngineContainer[]; errors: { engine: string; error: string }[] }>()),
  /** Machines (Berth's engine in a VM): answered by the app's side, whichever engine is shown. */
  'machines.list': method(none, as<MachineView[]>()),
  'machines.create': method(obj({ name: optional(machineName), ...machineResources }), as<null>()),
  /** resolves when the engine in the machine answers (the first start builds the guest image) */
  'machines.start': method(obj({ name: machineName }), as<null>()),
  'machines.stop': method(obj({ name: machineName, force: optional(bool()) }), as<null>()),
  /** applied at the next start */
  'machines.set': method(obj({ name: machineName, ...machineResources }), as<null>()),
  'machines.remove': method(obj({ name: machineName, force: optional(bool()) }), as<null>()),
  /** the last lines of the VM's console */
  'machines.console': method(obj({ name: machineName }), as<{ lines: string[] }>()),
} as const;

export type MethodName = keyof typeof methods;
export type MethodArgs<M extends MethodName> = Infer<(typeof methods)[M]['args']>;
export type MethodResult<M extends MethodName> = Infer<(typeof methods)[M]['result']>;

/** Broadcast to every connected UI. Deltas, never whole-world refreshes, except for small lists. */
export interface EventMap {
  /** A container changed; `summary` is null when it was removed. */
  'container': { id: string; summary: ContainerSummary | null };
  'images': ImageView[];
  'job': JobView;
  /** A build started or changed (its record: builds.get) */
  'build': BuildSummary;
  'stats': StatsSample[];
  'mark': StatsMark;
  'engine': EngineEventView;
  /** this window now shows another engine: every list is read again */
  'engines': { current: string };
  /** a machine changed state, or a start in progress says what it does */
  'machine': MachineView;
}
export type EventName = keyof EventMap;

/** Streams: args open them, `data` flows to the UI, `input` flows back. */
export const streams = {
  logs: {
    args: obj({ id, follow: optional(bool()), tail: optional(num({ min: 0, max: 10_000_000, int: true })) }),
    data: as<LogLine[]>(),
    input: as<never>(),
  },
  terminal: {
    args: obj({
      id,
      mode: oneOf(['exec', 'attach'] as const),
      shell: optional(str({ min: 1, max: 256 })),
      cols: num({ min: 2, max: 1000, int: true }),
      rows: num({ min: 2, max: 1000, int: true }),
    }),
    data: as<string>(),
    input: oneOfInput(),
  },
} as const;

export type StreamName = keyof typeof streams;
export type StreamArgs<S extends StreamName> = Infer<(typeof streams)[S]['args']>;
export type StreamData<S extends StreamName> = Infer<(typeof streams)[S]['data']>;
export type StreamInput<S extends StreamName> = Infer<(typeof streams)[S]['input']>;

/** Terminal input: keystrokes, a resize, or an acknowledgement of bytes drawn (flow control). */
export type TerminalInput = { data: string } | { cols: number; rows: number } | { ack: number };

function oneOfInput(): Validator<TerminalInput> {
  const data = obj({ data: str({ max: 1 << 20 }) });
  const size = obj({ cols: num({ min: 2, max: 1000, int: true }), rows: num({ min: 2, max: 1000, int: true }) });
  const ack = obj({ ack: num({ min: 0, max: 2 ** 40, int: true }) });
  return (v, path) => {
    const o = (typeof v === 'object' && v) || {};
    if ('data' in o) return data(v, path);
    if ('ack' in o) return ack(v, path);
    return size(v, path);
  };
}

/**
 * Terminal flow control: the host pauses the process once this many bytes are unacknowledged,
 * and resumes it below the low mark. The window covers a batch waiting in the UI (up to 50 ms)
 * plus its parse, at the flood rates xterm reaches; a smaller one stalls the process in between.
 */
export const TERMINAL_HIGH_WATER = 4 * 1024 * 1024;
export const TERMINAL_LOW_WATER = 2 * 1024 * 1024;

/** The wire messages shared by both transports. */
export type ClientMessage =
  | { t: 'call'; id: number; method: string; args: unknown }
  | { t: 'open'; sid: number; stream: string; args: unknown }
  | { t: 'input'; sid: number; input: unknown }
  | { t: 'close'; sid: number };

export type ServerMessage =
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: { code: string; message: string } }
  | { t: 'event'; name: EventName; payload: unknown }
  | { t: 'data'; sid: number; data: unknown }
  | { t: 'end'; sid: number; error?: { code: string; message: string } }
  /** the app's side lost (or regained) the engine it relays to, for an engine in another process */
  | { t: 'state'; state: 'open' | 'lost'; detail?: string };
