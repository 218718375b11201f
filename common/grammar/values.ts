// The small grammars of a container's settings, one each for the run form, the app's host and
// the engine: names, sizes, CPU counts, environment entries, labels, restart policies, and
// bind/volume specs (`-v`). Each parser returns a structured value or throws INVALID_ARGUMENT
// with the message Docker gives, so the same bad input reads the same wherever it was typed.
import { CodedError } from '../errors.ts';

const bad = (message: string) => new CodedError('INVALID_ARGUMENT', message);

/** Docker's rule for container, volume and network names: at least two characters. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function checkContainerName(name: string): string {
  const bare = name.replace(/^\//, '');
  if (bare.length > 255 || !NAME_PATTERN.test(bare)) {
    const shown = name.length > 64 ? `${name.slice(0, 64)}…` : name;
    throw bad(`Invalid container name (${shown}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return bare;
}

export function checkVolumeName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw bad(`"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
  return name;
}

/** Networks may have one-character names. */
export const NETWORK_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function checkNetworkName(name: string): string {
  if (!NETWORK_NAME_PATTERN.test(name)) throw bad(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "1g", "1.5GB", "1048576" → bytes (binary units, as `docker run -m`). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw bad(`invalid size: '${text}': use a number with an optional unit b, k, m, g or t (such as 512m)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

export const MIN_MEMORY = 6 * 1024 * 1024;

/** A memory limit in bytes, as the engine takes it. */
export function checkMemory(bytes: number): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw bad(`invalid memory limit ${bytes}: must be a positive number of bytes`);
  if (bytes && bytes < MIN_MEMORY) throw bad('Minimum memory limit allowed is 6MB');
  return bytes;
}

/** "1.5" CPUs → NanoCpus, within what the host has. */
export function parseCpus(text: string, hostCpus: number): number {
  const n = Number(text.trim());
  if (!text.trim() || !Number.isFinite(n)) throw bad(`invalid CPU count '${text}': use a number such as 0.5 or 2`);
  return checkNanoCpus(Math.round(n * 1e9), hostCpus);
}

export function checkNanoCpus(nano: number, hostCpus: number): number {
  if (!Number.isFinite(nano) || nano < 0 || (nano && nano < 1e7) || nano > hostCpus * 1e9) {
    throw bad(`Range of CPUs is from 0.01 to ${hostCpus}.00, as there are only ${hostCpus} CPUs available`);
  }
  return nano;
}

/** `KEY=value` (the value may be empty); a bare KEY is refused here (the CLI fills it from its own environment). */
export function checkEnv(entry: string): string {
  const eq = entry.indexOf('=');
  if (eq <= 0 || /\s/.test(entry.slice(0, eq))) throw bad(`invalid environment variable: ${entry}`);
  return entry;
}

/** `key=value` or `key` → [key, value]. */
export function parseLabel(text: string): [string, string] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (!key.trim()) throw bad(`invalid label '${text}': empty name`);
  return [key, eq < 0 ? '' : text.slice(eq + 1)];
}

export type RestartName = 'no' | 'always' | 'on-failure' | 'unless-stopped';
export interface RestartPolicySpec {
  Name: RestartName;
  MaximumRetryCount: number;
}

const RESTART_NAMES = ['no', 'always', 'on-failure', 'unless-stopped'];

/** `no`, `always`, `unless-stopped`, `on-failure[:N]` */
export function parseRestartPolicy(text: string): RestartPolicySpec {
  const [name, count, extra] = text.trim().split(':');
  if (extra !== undefined || !RESTART_NAMES.includes(name)) throw bad(`invalid restart policy '${text}': use no, always, unless-stopped or on-failure[:max-retries]`);
  return checkRestartPolicy({ Name: name as RestartName, MaximumRetryCount: count === undefined ? 0 : Number(count) });
}

export function checkRestartPolicy(p: { Name?: string; MaximumRetryCount?: number }): RestartPolicySpec {
  const name = p.Name || 'no';
  if (!RESTART_NAMES.includes(name)) throw bad(`invalid restart policy '${name}'`);
  const n = p.MaximumRetryCount ?? 0;
  if (!Number.isInteger(n) || n < 0) throw bad(`invalid restart policy '${name}:${n}': maximum retry count must be a positive whole number`);
  if (n && name !== 'on-failure') throw bad(`maximum retry count cannot be used with restart policy '${name}'`);
  return { Name: name as RestartName, MaximumRetryCount: n };
}

export const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const BIND_WORDS = ['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS];

/** One `-v` entry: a host directory (absolute source) or a named volume. */
export interface BindSpec {
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
  /** the options as written (ro, z, nocopy, a propagation), for Docker's Mode field */
  mode: string;
  propagation: string;
  nocopy: boolean;
}

/** A structured mount back to `-v` text (the Docker API's Binds entries). */
export function formatBind(b: { source: string; target: string; readOnly?: boolean }): string {
  return `${b.source}:${b.target}${b.readOnly ? ':ro' : ''}`;
}

/** `source:/target[:options]` */
export function parseBindSpec(text: string): BindSpec {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw bad(`invalid volume specification: '${text}'`);
  const [source, target, mode = ''] = parts;
  const words = mode.split(',').filter(Boolean);
  for (const w of words) if (!BIND_WORDS.includes(w)) throw bad(`invalid mode: ${w}`);
  if (!target.startsWith('/')) throw bad(`invalid volume specification: '${text}': mount path must be absolute`);
  const propagation = words.find((w) => PROPAGATIONS.includes(w)) ?? '';
  const type = source.startsWith('/') ? 'bind' : 'volume';
  if (type === 'volume') {
    checkVolumeName(source);
    if (propagation) throw bad(`invalid volume specification: '${text}': propagation is for bind mounts only`);
  }
  return { type, source, target, readOnly: words.includes('ro'), mode, propagation, nocopy: words.includes('nocopy') };
}

/** A legacy link's alias: `name:alias`, or the linked container's name. */
export function linkAlias(link: string): string {
  const [name, alias] = link.split(':');
  return (alias ?? name).replace(/^\//, '').split('/').pop()!;
}
