// What dockerd's classic builder writes as a config-only step's history (`/bin/sh -c #(nop)
// <text>`), so that `docker history` reads the same and --cache-from can match images dockerd
// built by it: values as processed (quotes gone), Go's %q for command lists, EXPOSE sorted,
// HEALTHCHECK as Go prints the struct. Checked side by side with dockerd 20.10.
import type { ImageRuntimeConfig } from '../images/imageStore.ts';

/** Go's strconv.Quote, for the strings of these texts. */
function goQuote(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u00([0-7][0-9a-f])/g, (_, h: string) => ({ '07': '\\a', '0b': '\\v' })[h] ?? `\\x${h}`)
    .replace(/\u007f/g, '\\x7f');
}

/** Go's %q of a []string: `["a" "b c"]` (a nil list `[]`). */
export function goList(list: string[] | null | undefined): string {
  return `[${(list ?? []).map(goQuote).join(' ')}]`;
}

/** Go's time.Duration String of nanoseconds: 5s, 1m30s, 1.5s, 500ms, 0s. */
function goDuration(ns: number): string {
  if (!ns) return '0s';
  if (ns < 1e9) {
    for (const [unit, size] of [['ms', 1e6], ['µs', 1e3], ['ns', 1]] as const) {
      if (ns >= size) return `${+(ns / size).toFixed(6)}${unit}`;
    }
  }
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns % 3.6e12) / 6e10);
  const s = +((ns % 6e10) / 1e9).toFixed(9);
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

/** Go's %q of an int: the rune it names, quoted. */
function goRune(n: number): string {
  if (n === 39) return "'\\''";
  if (n >= 0x20 && n < 0x7f) return `'${String.fromCharCode(n)}'`;
  return n < 0x100 ? `'\\x${n.toString(16).padStart(2, '0')}'` : `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/** HEALTHCHECK as dockerd prints the config: `&{["CMD-SHELL" "…"] "5s" "0s" "0s" '\x02'}`. */
export function healthText(hc: ImageRuntimeConfig['Healthcheck']): string {
  if (!hc) return '<nil>';
  return `&{${goList(hc.Test)} ${goQuote(goDuration(hc.Interval ?? 0))} ${goQuote(goDuration(hc.Timeout ?? 0))} ${goQuote(goDuration(hc.StartPeriod ?? 0))} ${goRune(hc.Retries ?? 0)}}`;
}

/** `k=v k2=v2`: pairs as processed, in the order written. */
export function pairsText(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(' ');
}
