// Image builds and commits as the backend interface speaks of them (POST /build, POST /commit).
import type { ProgressMessage } from './docker.ts';

/** What a build is asked to do: POST /build's parameters. */
export interface BuildRequest {
  /** the Dockerfile's path in the context (default Dockerfile, then dockerfile) */
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  nocache?: boolean;
  pull?: boolean;
  /** remove intermediate containers after a successful step (default true) */
  rm?: boolean;
  /** also after a failed one */
  forcerm?: boolean;
  /** restrict the cache to these images' chains; undefined for any local step */
  cacheFrom?: string[];
  networkMode?: string;
  extraHosts?: string[];
  shmSize?: number;
  memory?: number;
  memswap?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  cpuQuota?: number;
  cpuPeriod?: number;
  /** os/arch[/variant] */
  platform?: string;
  /** where the context came from, for the history (the app's folder) */
  context?: string;
  /**
   * RUN --mount=type=secret: id → the secret's content. Only the app can send them (the classic
   * protocol has no way); they are never stored, logged, kept in a layer or part of a cache key.
   */
  secrets?: Record<string, Uint8Array>;
  /**
   * RUN --mount=type=ssh: id → private key files (OpenSSH or PEM, no passphrase) an agent of the
   * build's own serves to the RUN, as BuildKit's `--ssh id=keyfile`. Only the app sends them.
   */
  ssh?: Record<string, Uint8Array[]>;
  /**
   * RUN --mount=type=ssh: id → the socket of a running SSH agent on the engine's machine, relayed
   * read-only (listing and signing), as BuildKit's `--ssh default` with SSH_AUTH_SOCK. An id has
   * key files or an agent, not both. Only the app sends them.
   */
  sshAgents?: Record<string, string>;
}

/** dockerd's build stream: text for the client's terminal, aux IDs, pull progress. */
export interface BuildOutput {
  stream(text: string): void;
  aux(v: { ID: string }): void;
  progress(m: ProgressMessage): void;
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Dockerfile lines: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR, HEALTHCHECK */
  changes?: string[];
  /** freeze a running container while its changes are read (default true) */
  pause?: boolean;
  /** a config to commit instead of the container's (the request body) */
  config?: Record<string, unknown>;
}

/**
 * What a step spends its time on: pulling a base image, downloading ADD sources (HTTP, git),
 * hashing COPY sources for the cache key, running the command, writing the copied files into
 * a layer, committing the layer and the image.
 */
export type BuildPhaseName = 'pull' | 'download' | 'hash' | 'exec' | 'copy' | 'commit';

/** A phase of a step: its start (ms after the step's) and its duration once over. */
export interface BuildPhase {
  name: BuildPhaseName;
  at: number;
  ms?: number;
}

/** One step of a build as the app shows it. */
export interface BuildStep {
  /** the Step N of the stream */
  n: number;
  instruction: string;
  /** 1-based Dockerfile line (0 for steps the request added, such as labels) */
  line: number;
  /** the stage's name or index */
  stage: string;
  state: 'running' | 'cached' | 'done' | 'failed';
  startedAt: number;
  ms?: number;
  /** the step's output (capped) */
  output: string;
  exitCode?: number;
  /** where its time went, in order (steps that only change the config have none) */
  phases?: BuildPhase[];
  /** the size of the layer it made (files' bytes), when it made one */
  layerBytes?: number;
}

/** A build, from the docker CLI, compose or the app, kept in the engine's history. */
export interface BuildRecord {
  id: string;
  /** the first tag, or "untagged" */
  name: string;
  tags: string[];
  status: 'running' | 'done' | 'failed' | 'cancelled';
  startedAt: number;
  finishedAt?: number;
  dockerfile: string;
  dockerfileName: string;
  target?: string;
  buildArgs?: Record<string, string | null>;
  /** the folder the app built, so it can build it again */
  context?: string;
  imageId?: string;
  error?: string;
  /** the Dockerfile line the failure is on */
  errorLine?: number;
  /** receiving the context before the build started: its time and size */
  contextMs?: number;
  contextBytes?: number;
  total: number;
  steps: BuildStep[];
}

/** A build without its steps' output, for lists. */
export type BuildSummary = Omit<BuildRecord, 'steps' | 'dockerfile'> & { cached: number; done: number };

export function summarizeBuild(r: BuildRecord): BuildSummary {
  const { steps, dockerfile: _dockerfile, ...rest } = r;
  return { ...rest, cached: steps.filter((s) => s.state === 'cached').length, done: steps.filter((s) => s.state !== 'running').length };
}

/** The stage names of a Dockerfile (`FROM image AS name`), in order: the app's target choices. */
export function dockerfileStages(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)\s*$/i.exec(line);
    if (m) out.push(m[1].toLowerCase());
  }
  return out;
}
