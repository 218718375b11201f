// Validates create options and merges them with the image config, the way Docker does.
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import type { ContainerCreateOptions, DeviceMapping, HealthConfig, HostConfig } from '../../../common/models.ts';
import { invalid } from '../errors.ts';
import type { Image } from '../images/imageStore.ts';
import { CAPABILITIES } from '../runtime/caps.ts';
import { RLIMITS } from '../runtime/rlimits.ts';
import { parseSignal } from './signals.ts';
import { checkEnv, checkMemory, checkNanoCpus, checkRestartPolicy, parseSize, portKey } from '../../../common/grammar/index.ts';
import { normalizePortBindings } from '../network/networkService.ts';
import type { ContainerConfig } from './containerRecord.ts';

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

const INT64_MAX = 2 ** 63 - 1;

/** A whole number in range, or the field is named: values the kernel and the store can hold. */
function checkInt(field: string, v: unknown, min = 0, max = INT64_MAX): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) && !(Number.isInteger(v) && Math.abs(v) <= INT64_MAX)) {
    throw invalid(`invalid ${field} ${JSON.stringify(v)}: a whole number is required`);
  }
  if (v < min || v > max) throw invalid(`invalid ${field} ${v}: it must be between ${min} and ${max}`);
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
  for (const k of ['Memory', 'MemorySwap', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'ShmSize', 'CpuRealtimeRuntime', 'CpuRealtimePeriod'] as const) {
    checkInt(k, h[k], k === 'MemorySwap' || k === 'CpuQuota' ? -1 : 0);
  }
  checkInt('PidsLimit', h.PidsLimit, -1);
  if (h.OomScoreAdj !== undefined && (!Number.isInteger(h.OomScoreAdj) || h.OomScoreAdj < -1000 || h.OomScoreAdj > 1000)) {
    throw invalid(`Invalid value ${h.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }
  for (const [field, list] of [['CapAdd', h.CapAdd], ['CapDrop', h.CapDrop]] as const) {
    for (const c of list ?? []) {
      if (typeof c !== 'string' || (c.toUpperCase() !== 'ALL' && !(CAPABILITIES as readonly string[]).includes(c.toUpperCase().replace(/^CAP_/, '')))) {
        throw invalid(`invalid ${field}: unknown capability: ${JSON.stringify(c)}`);
      }
    }
  }
  for (const u of h.Ulimits ?? []) {
    checkInt(`ulimit ${u.Name} soft limit`, u.Soft, -1);
    checkInt(`ulimit ${u.Name} hard limit`, u.Hard, -1);
    if (u.Soft !== -1 && u.Hard !== -1 && u.Soft > u.Hard) throw invalid(`ulimit ${u.Name}: the soft limit ${u.Soft} is above the hard limit ${u.Hard}`);
  }
  checkNamespaceModes(h);
  if (h.Runtime && h.Runtime !== 'runc') throw invalid(`unknown or invalid runtime name: ${h.Runtime}`);
  if (h.Isolation && h.Isolation !== 'default') throw invalid(`Invalid isolation: "${h.Isolation}" - linux only supports 'default'`);
  for (const r of h.DeviceCgroupRules ?? []) if (!DEVICE_RULE.test(r)) throw invalid(`invalid device cgroup format '${r}'`);
  const devices = (h.Devices ?? []).map(checkDevice);
  return {
    ...h,
    Runtime: 'runc',
    Devices: devices,
    IpcMode: h.IpcMode || 'private',
    CgroupnsMode: h.CgroupnsMode || 'private',
    LogConfig: checkLogConfig(h.LogConfig),
    RestartPolicy: rp,
    NetworkMode: h.NetworkMode && h.NetworkMode !== 'default' ? h.NetworkMode : 'bridge',
    PortBindings: normalizePortBindings(h.PortBindings),
  };
}

const DEVICE_RULE = /^[acb] (\d+|\*):(\d+|\*) [rwm]{1,3}$/;

/** Namespace modes as dockerd takes them; the containers named are checked at start. */
function checkNamespaceModes(h: HostConfig): void {
  const joins = (v: string) => /^container:.+/.test(v);
  if (h.PidMode && h.PidMode !== 'host' && !joins(h.PidMode)) throw invalid(`invalid PID mode: ${h.PidMode}: use host or container:<name|id>`);
  if (h.IpcMode && !['private', 'shareable', 'host', 'none'].includes(h.IpcMode) && !joins(h.IpcMode)) throw invalid(`Invalid IPC mode: ${h.IpcMode}`);
  if (h.UTSMode && h.UTSMode !== 'host') throw invalid(`invalid UTS mode: ${h.UTSMode}: use host`);
  if (h.CgroupnsMode && !['host', 'private'].includes(h.CgroupnsMode)) throw invalid(`invalid cgroup namespace mode: ${h.CgroupnsMode}: use host or private`);
}

/** A device to create in the container: it must be a device node on the host. */
function checkDevice(d: DeviceMapping): DeviceMapping {
  const host = d.PathOnHost;
  let st;
  try {
    st = statSync(host);
  } catch (e) {
    throw invalid(`error gathering device information while adding custom device "${host}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw invalid(`error gathering device information while adding custom device "${host}": not a device node`);
  const perms = d.CgroupPermissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(perms)) throw invalid(`invalid device permissions "${perms}" for ${host}: use some of r, w and m`);
  const inside = d.PathInContainer || host;
  if (!inside.startsWith('/')) throw invalid(`invalid device path in the container "${inside}": it must be absolute`);
  return { PathOnHost: host, PathInContainer: inside, CgroupPermissions: perms };
}

const LOG_DRIVERS: Record<string, string[]> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  none: [],
};

/** The drivers Berth writes (json-file and local keep a file the engine reads back; none keeps nothing). */
function checkLogConfig(c: HostConfig['LogConfig']): { Type: string; Config: Record<string, string> } {
  const type = c?.Type || 'json-file';
  const opts = c?.Config ?? {};
  const known = LOG_DRIVERS[type];
  if (!known) throw invalid(`error looking up logging plugin ${type}: plugin "${type}" not found`);
  for (const k of Object.keys(opts)) {
    if (type === 'none') throw invalid('invalid logging opts for driver none');
    if (!known.includes(k)) throw invalid(`unknown log opt '${k}' for ${type} log driver`);
  }
  if (opts['max-size'] !== undefined && opts['max-size'] !== '-1') {
    try {
      parseSize(opts['max-size']);
    } catch {
      throw invalid(`failed to initialize logging driver: invalid size: '${opts['max-size']}'`);
    }
  }
  if (opts['max-file'] !== undefined && !(/^\d+$/.test(opts['max-file']) && Number(opts['max-file']) >= 1)) {
    throw invalid(`failed to initialize logging driver: max-file cannot be less than 1: '${opts['max-file']}'`);
  }
  return { Type: type, Config: opts };
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
    // A bare name unsets the variable (the CLI sends `-e NAME` so when NAME is not set where it runs).
    if (/^[^=\s]+$/.test(e)) env.delete(e);
    else env.set(checkEnv(e).slice(0, e.indexOf('=')), e);
  }
  if (!env.has('PATH')) env.set('PATH', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const exposed: Record<string, object> = {};
  for (const k of [...Object.keys(img.ExposedPorts ?? {}), ...Object.keys(opts.ExposedPorts ?? {}), ...Object.keys(opts.HostConfig?.PortBindings ?? {})]) exposed[portKey(k)] = {};
  const volumes: Record<string, object> = {};
  for (const v of [...Object.keys(img.Volumes ?? {}), ...Object.keys(opts.Volumes ?? {})]) {
    if (!v.startsWith('/')) throw invalid(`invalid volume path ${v}: it must be absolute`);
    volumes[v] = {};
  }
  if (opts.HostConfig?.UTSMode === 'host' && opts.Hostname) throw invalid('conflicting options: hostname and the UTS mode');
  if (opts.Hostname && (opts.Hostname.length > 64 || !/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/.test(opts.Hostname))) {
    throw invalid(`invalid hostname "${opts.Hostname.length > 70 ? `${opts.Hostname.slice(0, 64)}…` : opts.Hostname}": at most 64 letters, digits, '-', '_' and '.'`);
  }
  if (opts.StopSignal) parseSignal(opts.StopSignal);
  if (opts.StopTimeout !== undefined && opts.StopTimeout !== null && !Number.isInteger(opts.StopTimeout)) throw invalid(`invalid StopTimeout ${opts.StopTimeout}: a whole number of seconds`);
  const config: ContainerConfig = {
    Hostname: opts.Hostname || hostname,
    Domainname: opts.Domainname ?? '',
    User: opts.User || img.User || '',
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
