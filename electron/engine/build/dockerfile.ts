// The Dockerfile parser, with BuildKit's grammar (moby vendors the same parser for both of its
// builders): parser directives, line continuations with the escape character, comments,
// heredocs on RUN/COPY/ADD, `--flag=value` options, and JSON (exec) or shell forms. It only
// splits; words are expanded when a step runs (shellWords.ts), with the variables of its time.
import { invalid } from '../errors.ts';

export interface Heredoc {
  name: string;
  body: string;
  /** `<<"EOF"` or `<<'EOF'`: no variable expansion in the body */
  quoted: boolean;
  /** `<<-EOF`: leading tabs stripped */
  chomp: boolean;
}

export interface Instruction {
  /** upper case: RUN, COPY, … */
  cmd: string;
  /** `--name=value` options, in order */
  flags: { name: string; value: string | undefined }[];
  /** what follows the options, continuations joined */
  rest: string;
  /** the exec form's array, when `rest` is a JSON array of strings */
  json?: string[];
  heredocs: Heredoc[];
  /** 1-based line of the instruction's first line */
  line: number;
  /** the instruction as written (continuations joined), for step lines and history */
  original: string;
}

export interface Stage {
  index: number;
  /** lower case, from `AS name` */
  name?: string;
  /** the base as written (expanded with the meta args when the stage starts) */
  base: string;
  platform?: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  directives: Record<string, string>;
  /** ARGs before the first FROM */
  metaArgs: Instruction[];
  stages: Stage[];
}

const KNOWN = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN',
  'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);
const WITH_FLAGS = new Set(['ADD', 'COPY', 'FROM', 'RUN', 'HEALTHCHECK']);
const WITH_HEREDOCS = new Set(['ADD', 'COPY', 'RUN']);
const JSON_FORM = new Set(['ADD', 'CMD', 'COPY', 'ENTRYPOINT', 'RUN', 'SHELL', 'VOLUME']);

/** Reads the leading `# key=value` lines (BuildKit: before any instruction, comment or blank line). */
function directives(lines: string[]): { found: Record<string, string>; skip: number } {
  const found: Record<string, string> = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const m = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(lines[i]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (!['syntax', 'escape', 'check'].includes(key)) break;
    if (key in found) throw invalid(`dockerfile parse error line ${i + 1}: only one ${key} parser directive can be used`);
    found[key] = m[2];
  }
  if (found.escape !== undefined && found.escape !== '\\' && found.escape !== '`') {
    throw invalid(`invalid escape token '${found.escape}' does not match ` + '` or \\');
  }
  return { found, skip: i };
}

function parseJsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined; // malformed JSON is the shell form, as in Docker
  }
}

/** The heredoc openers of a line: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`. */
function heredocOpeners(s: string): { name: string; quoted: boolean; chomp: boolean }[] {
  const out: { name: string; quoted: boolean; chomp: boolean }[] = [];
  const re = /<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
  for (let m; (m = re.exec(s)); ) out.push({ name: m[3], quoted: !!m[2], chomp: m[1] === '-' });
  return out;
}

export function parseDockerfile(text: string, what = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { found, skip } = directives(lines);
  const escape = found.escape ?? '\\';
  const instructions: Instruction[] = [];
  let i = skip;
  const isComment = (l: string) => /^\s*#/.test(l);
  while (i < lines.length) {
    if (!lines[i].trim() || isComment(lines[i])) {
      i++;
      continue;
    }
    const start = i;
    let logical = '';
    for (;;) {
      const raw = lines[i++];
      const trimmed = raw.replace(/\s+$/, '');
      if (trimmed.endsWith(escape)) {
        logical += trimmed.slice(0, -1);
        // Comment and empty lines inside a continuation are dropped.
        while (i < lines.length && (isComment(lines[i]) || !lines[i].trim())) i++;
        if (i >= lines.length) break;
        continue;
      }
      logical += raw;
      break;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical)!;
    const cmd = m[1].toUpperCase();
    if (!KNOWN.has(cmd)) throw invalid(`dockerfile parse error line ${start + 1}: unknown instruction: ${m[1]}`);
    let rest = m[2].trim();
    const flags: Instruction['flags'] = [];
    if (WITH_FLAGS.has(cmd)) {
      for (let fm; (fm = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest)); ) {
        flags.push({ name: fm[1].toLowerCase(), value: fm[2] });
        rest = rest.slice(fm[0].length);
      }
    }
    const heredocs: Heredoc[] = [];
    const onbuildInner = cmd === 'ONBUILD' ? /^(\S+)/.exec(rest)?.[1]?.toUpperCase() : undefined;
    if (WITH_HEREDOCS.has(cmd) || (onbuildInner && WITH_HEREDOCS.has(onbuildInner))) {
      for (const h of heredocOpeners(rest)) {
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw invalid(`dockerfile parse error line ${start + 1}: unterminated heredoc ${h.name}`);
          const l = h.chomp ? lines[i].replace(/^\t+/, '') : lines[i];
          i++;
          if (l === h.name) break;
          body.push(l);
        }
        heredocs.push({ ...h, body: body.length ? `${body.join('\n')}\n` : '' });
      }
    }
    const json = JSON_FORM.has(cmd) ? parseJsonArray(rest) : undefined;
    instructions.push({ cmd, flags, rest, json, heredocs, line: start + 1, original: logical.trim() });
  }
  if (!instructions.length) throw invalid(`the Dockerfile (${what}) cannot be empty`);
  const metaArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.cmd === 'FROM') {
      const words = ins.rest.split(/\s+/).filter(Boolean);
      if (!words.length) throw invalid(`dockerfile parse error line ${ins.line}: FROM requires either one or three arguments`);
      let name: string | undefined;
      if (words.length === 3 && words[1].toLowerCase() === 'as') name = words[2].toLowerCase();
      else if (words.length !== 1) throw invalid(`dockerfile parse error line ${ins.line}: FROM requires either one or three arguments`);
      if (name !== undefined) {
        if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw invalid(`dockerfile parse error line ${ins.line}: invalid name for build stage: "${name}", name can't start with a number or contain symbols`);
        if (stages.some((s) => s.name === name)) throw invalid(`dockerfile parse error line ${ins.line}: duplicate name ${name}`);
      }
      const platform = ins.flags.find((f) => f.name === 'platform')?.value;
      const unknown = ins.flags.find((f) => f.name !== 'platform');
      if (unknown) throw invalid(`dockerfile parse error line ${ins.line}: unknown flag: --${unknown.name}`);
      stages.push({ index: stages.length, name, base: words[0], platform, from: ins, instructions: [] });
    } else if (!stages.length) {
      if (ins.cmd !== 'ARG') throw invalid(`no build stage in current context`);
      metaArgs.push(ins);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  if (!stages.length) throw invalid('no build stage in current context');
  return { escape, directives: found, metaArgs, stages };
}

/** `ENV a=1 b="two words"` or the legacy `ENV a one value`: the raw (unexpanded) pairs. */
export function parseKeyValues(cmd: string, rest: string, splitRaw: (s: string) => string[], line: number): [string, string][] {
  const words = splitRaw(rest);
  if (!words.length) throw invalid(`dockerfile parse error line ${line}: ${cmd} requires at least one argument`);
  if (!words[0].includes('=')) {
    // The legacy form: the first word is the name, the rest of the line the value.
    if (cmd === 'LABEL') throw invalid(`dockerfile parse error line ${line}: LABEL must have two arguments`);
    const value = rest.trim().slice(words[0].length).trim();
    if (!value) throw invalid(`dockerfile parse error line ${line}: ${cmd} must have two arguments`);
    return [[words[0], value]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalid(`dockerfile parse error line ${line}: ${cmd} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}
