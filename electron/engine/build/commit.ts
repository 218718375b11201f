// `docker commit`: what a container's config becomes in the new image, and the `--change`
// lines dockerd takes (the config-only Dockerfile instructions).
import { invalid } from '../errors.ts';
import type { ContainerRecord } from '../containers/containerRecord.ts';
import type { ImageRuntimeConfig } from '../images/imageStore.ts';
import { parseDockerfile } from './dockerfile.ts';
import { applyMeta, envVars } from './metadata.ts';

export type { CommitOptions } from '../../../common/build.ts';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'HEALTHCHECK']);

/** Paths the engine mounts over or creates in every container: never part of a layer it made. */
export const ENGINE_TARGETS = new Set(['/proc', '/sys', '/dev', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/.dockerenv', '/dev/shm', '/dev/pts', '/dev/mqueue']);

/** The image config a container's settings make. */
export function containerRuntimeConfig(r: ContainerRecord): ImageRuntimeConfig {
  const c = r.Config;
  return {
    Cmd: c.Cmd ?? null, Entrypoint: c.Entrypoint ?? null, Env: c.Env ?? null, WorkingDir: c.WorkingDir ?? '', User: c.User ?? '',
    Labels: c.Labels ?? null, ExposedPorts: c.ExposedPorts ?? null, Volumes: c.Volumes ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}), ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...((c as { OnBuild?: string[] | null }).OnBuild ? { OnBuild: (c as { OnBuild?: string[] | null }).OnBuild } : {}),
  };
}

/** `--change` lines applied in order, as dockerd does with each as a Dockerfile line. */
export function applyChanges(config: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...config };
  for (const line of changes) {
    if (!line.trim()) continue;
    const word = /^\s*(\S+)/.exec(line)![1].toUpperCase();
    if (!ALLOWED.has(word)) throw invalid(`${word} is not a valid change command`);
    const [ins] = parseDockerfile(`FROM scratch\n${line}`).stages[0].instructions;
    applyMeta(out, ins, { vars: envVars(out.Env), escape: '\\', cmdSet: true });
  }
  return out;
}
