// Whether this process runs in a user namespace other than the host's: a rootless engine is
// root there (uid 0) over a map of the user's own and subordinate ids. The check runc and crun
// make: the initial namespace maps every id onto itself.
import { readFileSync } from 'node:fs';

let cached: boolean | undefined;

export function parseIdMap(text: string): { inside: number; outside: number; count: number }[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, outside, count]) => ({ inside, outside, count }));
}

export function isInitialMap(text: string): boolean {
  const m = parseIdMap(text);
  return m.length === 1 && m[0].inside === 0 && m[0].outside === 0 && m[0].count === 4294967295;
}

export function inUserNamespace(): boolean {
  if (cached === undefined) {
    try {
      cached = !isInitialMap(readFileSync('/proc/self/uid_map', 'utf8'));
    } catch {
      cached = false;
    }
  }
  return cached;
}
