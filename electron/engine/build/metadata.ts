// The instructions that change only an image's config (ENV, LABEL, CMD, …): shared by the
// builder's steps and by `docker commit --change`, which takes the same lines; and the build args
// every build predefines (platform, proxies).
import type { HealthConfig } from '../../../common/models.ts';
import { invalid } from '../errors.ts';
import type { ImageRuntimeConfig } from '../images/imageStore.ts';
import { hostArch } from '../images/localImageStore.ts';
import { parseSignal } from '../containers/signals.ts';
import { parseKeyValues, type Instruction } from './dockerfile.ts';
import { expandWord, expandWords, splitRaw, type Vars } from './shellWords.ts';
import { goList, healthText, pairsText } from './historyText.ts';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** What a metadata step knows besides the config: its variables and the escape character. */
export interface MetaContext {
  vars: Vars;
  escape: string;
  /** CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet?: boolean;
  /** set by applyMeta: the step's history text as dockerd writes it (historyText.ts) */
  history?: string;
}

function envMap(env: string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

/** The variables of a config's Env. */
export function envVars(env: string[] | null | undefined): Vars {
  const m = envMap(env);
  return (n) => m.get(n);
}

/** The exec form as is, or the shell form under the current SHELL. */
export function commandOf(ins: Instruction, shell: string[] | null | undefined): string[] {
  if (ins.json) return ins.json;
  return [...(shell?.length ? shell : DEFAULT_SHELL), ins.rest];
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s") in nanoseconds. */
function parseDuration(flag: string, v: string): number {
  let total = 0;
  let rest = v;
  if (rest === '0') return 0;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw invalid(`invalid value for --${flag}: time: invalid duration "${v}"`);
    total += Number(m[1]) * UNIT_NS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

function healthcheck(ins: Instruction): HealthConfig {
  const first = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest);
  if (!first) throw invalid(`dockerfile parse error line ${ins.line}: HEALTHCHECK requires an argument`);
  const kind = first[1].toUpperCase();
  if (kind === 'NONE') {
    if (first[2].trim() || ins.flags.length) throw invalid(`dockerfile parse error line ${ins.line}: HEALTHCHECK NONE takes no arguments`);
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalid(`dockerfile parse error line ${ins.line}: Unknown type "${first[1]}" in HEALTHCHECK (try CMD)`);
  const body = first[2].trim();
  let json: string[] | undefined;
  try {
    const v: unknown = JSON.parse(body);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) json = v;
  } catch {
    /* shell form */
  }
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', body] };
  for (const f of ins.flags) {
    const v = f.value ?? '';
    switch (f.name) {
      case 'interval': hc.Interval = parseDuration(f.name, v); break;
      case 'timeout': hc.Timeout = parseDuration(f.name, v); break;
      case 'start-period': hc.StartPeriod = parseDuration(f.name, v); break;
      case 'start-interval': (hc as { StartInterval?: number }).StartInterval = parseDuration(f.name, v); break;
      case 'retries': {
        if (!/^\d+$/.test(v)) throw invalid(`invalid value for --retries: ${v}`);
        hc.Retries = Number(v);
        break;
      }
      default: throw invalid(`dockerfile parse error line ${ins.line}: unknown flag: --${f.name}`);
    }
  }
  return hc;
}

/** An EXPOSE word as port keys: `80` is 80/tcp, a range one key per port (as dockerd's nat.ParsePortSpecs). */
function portKeys(p: string, line: number): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  const bad = () => invalid(`dockerfile parse error line ${line}: Invalid containerPort: ${p.split('/')[0]}`);
  if (!m) throw bad();
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  if (lo < 1 || hi > 65535 || hi < lo) throw invalid(`Invalid containerPort: ${lo > 65535 ? lo : hi}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
}

/** Applies a config-only instruction; true when `ins` was one. */
export function applyMeta(c: ImageRuntimeConfig, ins: Instruction, ctx: MetaContext): boolean {
  const words = () => expandWords(ins.rest, ctx.vars, ctx.escape);
  switch (ins.cmd) {
    case 'ENV': {
      const env = envMap(c.Env);
      const pairs: [string, string][] = [];
      for (const [k, raw] of parseKeyValues('ENV', ins.rest, (s) => splitRaw(s, ctx.escape), ins.line)) {
        // Each value sees the variables set before it on the same line.
        const vars: Vars = (n) => (env.has(n) ? env.get(n) : ctx.vars(n));
        pairs.push([expandWord(k, vars, ctx.escape), expandWord(raw, vars, ctx.escape)]);
        env.set(...pairs.at(-1)!);
      }
      c.Env = [...env].map(([k, v]) => `${k}=${v}`);
      ctx.history = `ENV ${pairsText(pairs)}`;
      return true;
    }
    case 'LABEL': {
      const labels = { ...(c.Labels ?? {}) };
      const pairs: [string, string][] = [];
      for (const [k, raw] of parseKeyValues('LABEL', ins.rest, (s) => splitRaw(s, ctx.escape), ins.line)) {
        pairs.push([expandWord(k, ctx.vars, ctx.escape), expandWord(raw, ctx.vars, ctx.escape)]);
        labels[pairs.at(-1)![0]] = pairs.at(-1)![1];
      }
      c.Labels = labels;
      ctx.history = `LABEL ${pairsText(pairs)}`;
      return true;
    }
    case 'MAINTAINER':
      return true; // kept as the image's author by the caller
    case 'EXPOSE': {
      const ports = { ...(c.ExposedPorts ?? {}) };
      const list = words();
      if (!list.length) throw invalid(`dockerfile parse error line ${ins.line}: EXPOSE requires at least one argument`);
      for (const p of list) for (const k of portKeys(p, ins.line)) ports[k] = {};
      c.ExposedPorts = ports;
      ctx.history = `EXPOSE ${[...list].sort().join(' ')}`;
      return true;
    }
    case 'VOLUME': {
      const vols = { ...(c.Volumes ?? {}) };
      const list = ins.json ?? words();
      if (!list.length) throw invalid(`dockerfile parse error line ${ins.line}: VOLUME requires at least one argument`);
      for (const v of list) {
        if (!v.trim()) throw invalid('VOLUME specified can not be an empty string');
        vols[v] = {};
      }
      c.Volumes = vols;
      ctx.history = `VOLUME [${list.join(' ')}]`;
      return true;
    }
    case 'USER': {
      const u = expandWord(ins.rest.trim(), ctx.vars, ctx.escape);
      if (!ins.rest.trim()) throw invalid(`dockerfile parse error line ${ins.line}: USER requires exactly one argument`);
      c.User = u;
      ctx.history = `USER ${u}`;
      return true;
    }
    case 'WORKDIR': {
      const w = expandWord(ins.rest.trim(), ctx.vars, ctx.escape);
      if (!w) throw invalid(`dockerfile parse error line ${ins.line}: WORKDIR requires exactly one argument`);
      c.WorkingDir = w.startsWith('/') ? w : `${(c.WorkingDir || '/').replace(/\/$/, '')}/${w}`;
      return true;
    }
    case 'SHELL': {
      if (!ins.json || !ins.json.length) throw invalid(`dockerfile parse error line ${ins.line}: SHELL requires the arguments to be in JSON form`);
      c.Shell = ins.json;
      ctx.history = `SHELL [${ins.json.join(' ')}]`;
      return true;
    }
    case 'STOPSIGNAL': {
      const sig = expandWord(ins.rest.trim(), ctx.vars, ctx.escape);
      try {
        parseSignal(sig);
      } catch {
        throw invalid(`Invalid signal: ${sig}`);
      }
      c.StopSignal = sig;
      ctx.history = `STOPSIGNAL ${sig}`;
      return true;
    }
    case 'CMD': {
      c.Cmd = commandOf(ins, c.Shell);
      ctx.cmdSet = true;
      ctx.history = `CMD ${goList(c.Cmd)}`;
      return true;
    }
    case 'ENTRYPOINT': {
      c.Entrypoint = ins.json ?? (ins.rest.trim() ? commandOf(ins, c.Shell) : null);
      // An inherited CMD goes with a new ENTRYPOINT; one set in this stage stays.
      if (!ctx.cmdSet) c.Cmd = null;
      ctx.history = `ENTRYPOINT ${goList(c.Entrypoint)}`;
      return true;
    }
    case 'HEALTHCHECK': {
      c.Healthcheck = healthcheck(ins);
      ctx.history = `HEALTHCHECK ${healthText(c.Healthcheck)}`;
      return true;
    }
    case 'ONBUILD': {
      const inner = /^(\S+)/.exec(ins.rest)?.[1]?.toUpperCase();
      if (!inner) throw invalid(`dockerfile parse error line ${ins.line}: ONBUILD requires at least one argument`);
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) throw invalid(`${inner} isn't allowed as an ONBUILD trigger`);
      c.OnBuild = [...(c.OnBuild ?? []), ins.rest.trim()];
      return true;
    }
    default:
      return false;
  }
}

/** BuildKit's predefined platform args (this engine builds for its own platform). */
export function platformArgs(): Record<string, string> {
  const arch = hostArch();
  const variant = arch === 'arm' ? 'v7' : '';
  const platform = `linux/${arch}${variant ? `/${variant}` : ''}`;
  const out: Record<string, string> = {};
  for (const side of ['BUILD', 'TARGET']) Object.assign(out, { [`${side}PLATFORM`]: platform, [`${side}OS`]: 'linux', [`${side}ARCH`]: arch, [`${side}VARIANT`]: variant });
  return out;
}

/** Build args Docker passes to RUN without an ARG, and keeps out of history unless declared. */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
