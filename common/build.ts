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
