// Detach keys, as the docker CLI and dockerd write them: comma-separated keys, each one
// character or ctrl-<letter or @[\]^_>; the default is ctrl-p,ctrl-q.
import { CodedError } from '../errors.ts';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** The byte sequence of a detach-keys value; throws INVALID_ARGUMENT naming it. */
export function parseDetachKeys(value: string, what = 'detach keys'): number[] {
  const out: number[] = [];
  for (const key of value.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(key);
    if (!m) throw new CodedError('INVALID_ARGUMENT', `Invalid ${what} (${value}) provided: "${key}" is neither one character nor ctrl-<a-z, @, [, \\, ], ^ or _>`);
    const c = m[1].charCodeAt(0);
    out.push(c >= 97 ? c - 96 : c - 64);
  }
  return out;
}

/**
 * Watches a byte stream for the sequence: bytes that may begin it are held back, and given
 * back if the sequence breaks off; once complete, nothing after it is passed on.
 */
export class EscapeMatcher {
  private matched = 0;

  constructor(private readonly keys: number[]) {}

  /** The bytes to pass on, and whether the sequence was completed in this chunk. */
  feed(chunk: Uint8Array): { pass: Uint8Array; detach: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        if (++this.matched === this.keys.length) return { pass: Uint8Array.from(out), detach: true };
        continue;
      }
      if (this.matched) {
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
        if (b === this.keys[0]) {
          this.matched = 1;
          continue;
        }
      }
      out.push(b);
    }
    return { pass: Uint8Array.from(out), detach: false };
  }
}
