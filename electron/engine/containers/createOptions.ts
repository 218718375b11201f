// Validates create options and merges them with the image config, the way Docker does.
import { availableParallelism } from 'node:os';
import type { ContainerCreateOptions, HealthConfig, HostConfig } from '../../../common/models.ts';
import { invalid } from '../errors.ts';
import type { Image } from '../images/imageStore.ts';
import { RLIMITS } from '../runtime/rlimits.ts';
import { checkEnv, checkMemory, checkNanoCpus, checkRestartPolicy, portKey } from '../../../common/grammar/index.ts';
import { normalizePortBindings } from '../network/networkService.ts';
import type { ContainerConfig } from './containerRecord.ts';

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

export function validateHostConfig(h: HostConfig): HostConfig {
  const cpus = availableParallelism();
  if (h.Memory !== undefined) checkMemory(h.Memory);
  if (h.MemorySwap && h.MemorySwap > 0 && h.Memory && h.MemorySwap < h.Memory) {
    throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (h.NanoCpus !== undefined) checkNanoCpus(h.NanoCpus, cpus);
  if (h.NanoCpus && (h.CpuQuota || h.CpuPeriod)) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (h.CpuShares !== undefined && (!isInt(h.CpuShares) || h.CpuShares < 0)) throw invalid(`invalid CPU shares ${h.CpuShares}`);
  if (h.CpusetCpus && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(h.CpusetCpus)) throw invalid(`invalid value ${h.CpusetCpus} for cpuset cpus`);
  if (h.CpusetCpus) {
    const max = Math.max(...h.CpusetCpus.split(/[,-]/).map(Number));
    if (max >= cpus) throw invalid(`requested CPUs are not available - requested ${h.CpusetCpus}, available: 0-${cpus - 1}`);
  }
  if (h.PidsLimit !== undefined && h.PidsLimit !== null && !isInt(h.PidsLimit)) throw invalid(`invalid pids limit ${h.PidsLimit}`);
  const rp = checkRestartPolicy(h.RestartPolicy ?? { Name: 'no' });
  if (h.AutoRemove && rp.Name !== 'no') throw invalid(`can't create 'AutoRemove' container with restart policy`);
  for (const u of h.Ulimits ?? []) if (RLIMITS[u.Name] === undefined) throw invalid(`invalid ulimit type: ${u.Name}`);
  if (h.UsernsMode && !['host', 'private'].includes(h.UsernsMode)) throw invalid(`invalid USER mode: ${h.UsernsMode}`);
  for (const l of h.Links ?? []) if (typeof l !== 'string' || !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*(:\/?[\w./-]+)?$/.test(l)) throw invalid(`invalid link: ${l}`);
  for (const e of h.ExtraHosts ?? []) {
    if (typeof e !== 'string' || !/^[^:=\s]+[:=]([\d.]+|[\da-fA-F:]+|host-gateway)$/.test(e)) throw invalid(`invalid IP address in add-host: "${e}"`);
  }
  for (const d of h.Dns ?? []) if (!/^[\d.]+$|^[\da-fA-F:]+$/.test(d)) throw invalid(`${d} is not an ip address`);
  if (h.ShmSize !== undefined && (!isInt(h.ShmSize) || h.ShmSize < 0)) throw invalid(`invalid shm size ${h.ShmSize}`);
  return {
    ...h,
    RestartPolicy: rp,
    NetworkMode: h.NetworkMode && h.NetworkMode !== 'default' ? h.NetworkMode : 'bridge',
    PortBindings: normalizePortBindings(h.PortBindings),
    LogConfig: { Type: 'json-file', Config: h.LogConfig?.Config ?? {} },
  };
}

const HEALTH_TYPES = ['NONE', 'CMD', 'CMD-SHELL'];

/**
 * Docker's merge: the container's health check over the image's, field by field (an empty
 * Test or a zero duration takes the image's), then checked as dockerd checks it.
 */
export function mergeHealthcheck(own: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!own) return image ?? undefined;
  // SDKs send null for what they leave unset (docker-py's healthcheck dict).
  const h = Object.fromEntries(Object.entries(own).filter(([, v]) => v !== null)) as HealthConfig;
  if (image) {
    if (!h.Test?.length) h.Test = image.Test;
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (!h[k] && image[k] !== undefined) h[k] = image[k];
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[k];
    if (v != null && (!isInt(v) || (v !== 0 && v < 1_000_000))) throw invalid(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if (h.Retries != null && (!isInt(h.Retries) || h.Retries < 0)) throw invalid('Retries in Healthcheck cannot be negative');
  const t = h.Test ?? [];
  if (t.length && !HEALTH_TYPES.includes(t[0])) throw invalid(`invalid Healthcheck.Test "${t[0]}": the first element must be NONE, CMD or CMD-SHELL`);
  if ((t[0] === 'CMD' || t[0] === 'CMD-SHELL') && t.length < 2) throw invalid(`invalid Healthcheck.Test: ${t[0]} needs a command`);
  return h;
}

/** Docker's rule: an explicit Entrypoint resets the image's Cmd unless Cmd is given too. */
export function mergeConfig(opts: ContainerCreateOptions, image: Image, hostname: string): { config: ContainerConfig; path: string; args: string[] } {
  const img = image.config.config;
  const entrypoint = opts.Entrypoint != null && opts.Entrypoint.length ? opts.Entrypoint
    : opts.Entrypoint != null ? null : img.Entrypoint ?? null;
  const cmd = opts.Cmd != null && opts.Cmd.length ? opts.Cmd
    : opts.Entrypoint != null && opts.Entrypoint.length ? null : img.Cmd ?? null;
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (!argv.length) throw invalid('No command specified');
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...(opts.Env ?? [])]) {
    if (!e) continue;
    env.set(checkEnv(e).slice(0, e.indexOf('=')), e);
  }
  if (!env.has('PATH')) env.set('PATH', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const exposed: Record<string, object> = {};
  for (const k of [...Object.keys(img.ExposedPorts ?? {}), ...Object.keys(opts.ExposedPorts ?? {}), ...Object.keys(opts.HostConfig?.PortBindings ?? {})]) exposed[portKey(k)] = {};
  const volumes: Record<string, object> = {};
  for (const v of [...Object.keys(img.Volumes ?? {}), ...Object.keys(opts.Volumes ?? {})]) {
    if (!v.startsWith('/')) throw invalid(`invalid volume path ${v}: it must be absolute`);
    volumes[v] = {};
  }
  const config: ContainerConfig = {
    Hostname: opts.Hostname || hostname,
    Domainname: opts.Domainname ?? '',
    User: opts.User ?? img.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: !!opts.Tty,
    OpenStdin: !!opts.OpenStdin,
    StdinOnce: !!opts.StdinOnce,
    Env: [...env.values()],
    Cmd: cmd,
    Entrypoint: entrypoint,
    Image: opts.Image,
    WorkingDir: opts.WorkingDir || img.WorkingDir || '',
    Labels: { ...(img.Labels ?? {}), ...(opts.Labels ?? {}) },
    StopSignal: opts.StopSignal ?? img.StopSignal,
    StopTimeout: opts.StopTimeout,
    Healthcheck: mergeHealthcheck(opts.Healthcheck, img.Healthcheck),
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Volumes: Object.keys(volumes).length ? volumes : null,
  };
  if (config.WorkingDir && !config.WorkingDir.startsWith('/')) throw invalid(`the working directory '${config.WorkingDir}' is invalid, it needs to be an absolute path`);
  return { config, path: argv[0], args: argv.slice(1) };
}
