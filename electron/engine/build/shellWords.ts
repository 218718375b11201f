// Dockerfile word expansion, as BuildKit's shell lexer does it (frontend/dockerfile/shell):
// single quotes are literal, inside double quotes only `"`, `$` and the escape character
// escape, and `$v`, `${v}` and the `${v:-w}` family of forms expand from the build's
// variables. RUN, CMD and ENTRYPOINT bodies are left to the shell and never come here.
import { invalid } from '../errors.ts';

export type Vars = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME = /[A-Za-z0-9_]/;

class Lexer {
  i = 0;
  constructor(readonly s: string, readonly vars: Vars, readonly escape: string) {}

  /** Reads words (split on unquoted whitespace) or one word (split = false) up to `stop`. */
  run(split: boolean, stop?: string): string[] {
    const words: string[] = [];
    let cur = '';
    let has = false;
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (stop && c === stop) break;
      if (split && /\s/.test(c)) {
        if (has) words.push(cur);
        cur = '';
        has = false;
        this.i++;
        continue;
      }
      has = true;
      if (c === "'") {
        const end = s.indexOf("'", this.i + 1);
        if (end < 0) throw invalid(`unexpected end of statement while looking for matching single-quote in: ${s}`);
        cur += s.slice(this.i + 1, end);
        this.i = end + 1;
      } else if (c === '"') {
        this.i++;
        cur += this.double();
      } else if (c === this.escape) {
        this.i++;
        if (this.i < s.length) cur += s[this.i++];
        else cur += c;
      } else if (c === '$') {
        cur += this.dollar();
      } else {
        cur += c;
        this.i++;
      }
    }
    if (has) words.push(cur);
    return words;
  }

  private double(): string {
    let out = '';
    const s = this.s;
    while (this.i < s.length) {
      const c = s[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === this.escape && this.i + 1 < s.length && ['"', '$', this.escape].includes(s[this.i + 1])) {
        out += s[this.i + 1];
        this.i += 2;
      } else if (c === '$') {
        out += this.dollar();
      } else {
        out += c;
        this.i++;
      }
    }
    throw invalid(`unexpected end of statement while looking for matching double-quote in: ${s}`);
  }

  private dollar(): string {
    const s = this.s;
    this.i++; // $
    if (s[this.i] === '{') {
      this.i++;
      let name = '';
      while (this.i < s.length && NAME.test(s[this.i])) name += s[this.i++];
      if (!name) throw invalid(`bad substitution in: ${s}`);
      if (s[this.i] === '}') {
        this.i++;
        return this.vars(name) ?? '';
      }
      let op = s[this.i++] ?? '';
      if (op === ':') {
        op += s[this.i++] ?? '';
        if (!['-', '+', '?'].includes(op[1])) throw invalid(`unsupported modifier (${op}) in substitution: ${s}`);
      } else if ((op === '#' || op === '%' || op === '/') && s[this.i] === op) {
        op += s[this.i++];
      }
      const arg = this.run(false, '}')[0] ?? '';
      if (s[this.i] !== '}') throw invalid(`missing '}' in: ${s}`);
      this.i++;
      const v = this.vars(name);
      switch (op) {
        case ':-': return v ? v : arg;
        case '-': return v !== undefined ? v : arg;
        case ':+': return v ? arg : '';
        case '+': return v !== undefined ? arg : '';
        case ':?': if (!v) throw invalid(`${name}: ${arg || 'is not allowed to be unset'}`); return v;
        case '?': if (v === undefined) throw invalid(`${name}: ${arg || 'is not allowed to be unset'}`); return v;
        case '#': case '##': return trimPrefix(v ?? '', arg, op === '##');
        case '%': case '%%': return trimSuffix(v ?? '', arg, op === '%%');
        case '/': case '//': {
          const cut = arg.indexOf('/');
          const [pat, rep] = cut < 0 ? [arg, ''] : [arg.slice(0, cut), arg.slice(cut + 1)];
          const re = globRegExp(pat, '');
          return (v ?? '').replace(new RegExp(re.source, op === '//' ? 'gs' : 's'), () => rep);
        }
        default: throw invalid(`unsupported modifier (${op}) in substitution: ${s}`);
      }
    }
    if (this.i < s.length && NAME_START.test(s[this.i])) {
      let name = '';
      while (this.i < s.length && NAME.test(s[this.i])) name += s[this.i++];
      return this.vars(name) ?? '';
    }
    return '$';
  }
}

function globRegExp(pat: string, anchor: '' | 'full'): RegExp {
  let re = '';
  for (const c of pat) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(anchor === 'full' ? `^(?:${re})$` : re, 's');
}

/** ${v#p} (shortest) and ${v##p} (longest): the prefix matching p removed. */
function trimPrefix(v: string, pat: string, longest: boolean): string {
  const re = globRegExp(pat, 'full');
  const ns = [...Array(v.length + 1).keys()];
  for (const n of longest ? ns.reverse() : ns) if (re.test(v.slice(0, n))) return v.slice(n);
  return v;
}

/** ${v%p} (shortest) and ${v%%p} (longest): the suffix matching p removed. */
function trimSuffix(v: string, pat: string, longest: boolean): string {
  const re = globRegExp(pat, 'full');
  const ns = [...Array(v.length + 1).keys()];
  for (const n of longest ? ns : ns.reverse()) if (re.test(v.slice(n))) return v.slice(0, n);
  return v;
}

/** One word, expanded and unquoted (whitespace kept). */
export function expandWord(s: string, vars: Vars, escape = '\\'): string {
  return new Lexer(s, vars, escape).run(false).join('');
}

/** Words split on unquoted whitespace, each expanded and unquoted. */
export function expandWords(s: string, vars: Vars, escape = '\\'): string[] {
  return new Lexer(s, vars, escape).run(true);
}

/** Splits on unquoted whitespace without expanding or unquoting (ENV/LABEL pairs, flags). */
export function splitRaw(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (!quote && /\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    if (c === escape && i + 1 < s.length && quote !== "'") {
      cur += c + s[++i];
      continue;
    }
    if (!quote && (c === '"' || c === "'")) quote = c;
    else if (quote === c) quote = '';
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}
