// Validation and parsing for the run form, checked inline before anything is submitted, with the
// grammar the contract and the engine check too (common/grammar): the same input gets the same
// verdict and message wherever it is typed.
import type { RunArgs } from '../../../common/contract.ts';
import { checkContainerName, checkEnv, checkMemory, checkNetworkName, parseBindSpec, parseCpus, parsePortSpec, parseReference, parseSize } from '../../../common/grammar/index.ts';

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

/** The grammar's message for a value, or undefined when it passes. */
function verdict(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

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

/** "512m", "1g", "1.5GB", "1048576" → bytes, or undefined when it is not a size. */
export function parseBytes(s: string): number | undefined {
  try {
    return parseSize(s);
  } catch {
    return undefined;
  }
}

export function validate(f: RunForm, ctx: { names: string[]; cpus: number }): Partial<Record<keyof RunForm, string>> {
  const e: Partial<Record<keyof RunForm, string>> = {};
  const first = (items: string[], check: (x: string) => unknown) => items.map((x) => verdict(() => check(x))).find(Boolean);
  if (!f.image.trim()) e.image = 'an image is required';
  else e.image = verdict(() => parseReference(f.image.trim()));
  if (f.name) e.name = verdict(() => checkContainerName(f.name)) ?? (ctx.names.includes(f.name) ? `a container named ${f.name} already exists` : undefined);
  e.command = verdict(() => splitCommand(f.command));
  e.env = first(lines(f.env), checkEnv);
  e.ports = first(lines(f.ports), parsePortSpec);
  if (f.network.trim()) e.network = verdict(() => checkNetworkName(f.network.trim()));
  e.binds = first(lines(f.binds), parseBindSpec);
  if (f.memory) e.memory = verdict(() => checkMemory(parseSize(f.memory)));
  if (f.cpus) e.cpus = verdict(() => parseCpus(f.cpus, ctx.cpus));
  for (const k of Object.keys(e) as (keyof RunForm)[]) if (e[k] === undefined) delete e[k];
  return e;
}

export function toRunArgs(f: RunForm): RunArgs {
  const cmd = splitCommand(f.command);
  return {
    image: f.image.trim(),
    ...(f.name ? { name: f.name } : {}),
    ...(cmd.length ? { cmd } : {}),
    ...(lines(f.env).length ? { env: lines(f.env) } : {}),
    ...(lines(f.ports).length ? { ports: lines(f.ports).map(parsePortSpec) } : {}),
    ...(lines(f.binds).length ? { binds: lines(f.binds).map(parseBindSpec).map((b) => ({ source: b.source, target: b.target, ...(b.readOnly ? { readOnly: true } : {}) })) } : {}),
    ...(f.network.trim() ? { network: f.network.trim() } : {}),
    ...(f.memory ? { memory: parseSize(f.memory) } : {}),
    ...(f.cpus ? { cpus: Number(f.cpus) } : {}),
    restart: f.restart,
    tty: f.tty,
  };
}
