// Validation and parsing for the run form, checked inline before anything is submitted.
import type { RunArgs } from '../../../common/contract.ts';

export interface RunForm {
  image: string;
  name: string;
  command: string;
  env: string;
  ports: string;
  binds: string;
  network: string;
  memory: string;
  cpus: string;
  restart: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  tty: boolean;
}

export const emptyForm = (image = ''): RunForm => ({ image, name: '', command: '', env: '', ports: '', binds: '', network: '', memory: '', cpus: '', restart: 'no', tty: false });

const REF = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(?:(\d+(?:-\d+)?):)?(\d+(?:-\d+)?)(?:\/(tcp|udp|sctp))?$/i;

const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

/** Shell-like split: spaces separate, quotes group, backslash escapes. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (cur || any) out.push(cur);
  return out;
}

/** "512m", "1g", "1.5GB", "1048576" → bytes. */
export function parseBytes(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

export function validate(f: RunForm, ctx: { names: string[]; cpus: number }): Partial<Record<keyof RunForm, string>> {
  const e: Partial<Record<keyof RunForm, string>> = {};
  if (!f.image.trim()) e.image = 'an image is required';
  else if (!REF.test(f.image.trim())) e.image = `"${f.image.trim()}" is not a valid image reference`;
  if (f.name && !NAME.test(f.name)) e.name = 'letters, digits, _ . - only, starting with a letter or digit';
  else if (f.name && ctx.names.includes(f.name)) e.name = `a container named ${f.name} already exists`;
  try {
    splitCommand(f.command);
  } catch (err) {
    e.command = (err as Error).message;
  }
  const badEnv = lines(f.env).find((l) => !/^[^=\s]+=/.test(l));
  if (badEnv) e.env = `"${badEnv}" is not KEY=value`;
  for (const p of lines(f.ports)) {
    const m = PORT.exec(p);
    const nums = m ? [m[2], m[3]].filter(Boolean).flatMap((x) => x.split('-').map(Number)) : [];
    if (!m || nums.some((n) => n < 1 || n > 65535)) {
      e.ports = `"${p}" is not [ip:]host:container[/tcp|udp] with ports 1-65535`;
      break;
    }
  }
  if (f.network.trim() && !NAME.test(f.network.trim())) e.network = `"${f.network}" is not a network name`;
  for (const b of lines(f.binds)) {
    const parts = b.split(':');
    const source = parts[0].startsWith('/') || /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(parts[0]);
    if (parts.length < 2 || parts.length > 3 || !source || !parts[1].startsWith('/') || (parts[2] && !/^(ro|rw)(,.*)?$/.test(parts[2]))) {
      e.binds = `"${b}" is not /host/path:/container/path[:ro] or volume-name:/container/path[:ro]`;
      break;
    }
  }
  if (f.memory) {
    const n = parseBytes(f.memory);
    if (n === undefined) e.memory = 'use a size like 256m or 1g';
    else if (n < 6 * 1024 * 1024) e.memory = 'the minimum is 6m';
  }
  if (f.cpus) {
    const n = Number(f.cpus);
    if (!Number.isFinite(n) || n < 0.01 || n > ctx.cpus) e.cpus = `between 0.01 and ${ctx.cpus}`;
  }
  return e;
}

export function toRunArgs(f: RunForm): RunArgs {
  const cmd = splitCommand(f.command);
  return {
    image: f.image.trim(),
    ...(f.name ? { name: f.name } : {}),
    ...(cmd.length ? { cmd } : {}),
    ...(lines(f.env).length ? { env: lines(f.env) } : {}),
    ...(lines(f.ports).length ? { ports: lines(f.ports) } : {}),
    ...(lines(f.binds).length ? { binds: lines(f.binds) } : {}),
    ...(f.network.trim() ? { network: f.network.trim() } : {}),
    ...(f.memory ? { memory: parseBytes(f.memory) } : {}),
    ...(f.cpus ? { cpus: Number(f.cpus) } : {}),
    restart: f.restart,
    tty: f.tty,
  };
}
