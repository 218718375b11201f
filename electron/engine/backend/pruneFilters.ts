// The filters of `docker container|image|network prune`, as dockerd reads them: `until` (a Go
// duration before now, an RFC 3339 time, a date or unix seconds), `label` (every one must
// match) and `label!` (none may), plus each kind's own keys. Unknown keys and unreadable
// values are refused before anything is removed.
import type { Filters } from '../../../common/docker.ts';
import { invalid } from '../errors.ts';
import { labelMatch } from './containerViews.ts';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The instant `until` names, in ms since the epoch. */
export function untilCutoff(value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length && parts.map((p) => p[0]).join('') === v) return now - parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]], 0);
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(v) ? `${v}${v.includes('T') ? 'Z' : 'T00:00:00Z'}` : v);
  if (Number.isNaN(t)) throw invalid(`invalid value for filter 'until': ${value}: use a duration such as 24h or a time such as 2026-01-02T15:04:05Z`);
  return t;
}

/** A test of (created, labels) for the prune of one kind of object; checks the filters first. */
export function pruneMatcher(f: Filters, ownKeys: string[] = []): (created: string | number, labels: Record<string, string> | null | undefined) => boolean {
  for (const key of Object.keys(f)) if (!['until', 'label', 'label!', ...ownKeys].includes(key)) throw invalid(`Invalid filter '${key}'`);
  const cutoffs = (f.until ?? []).map((u) => untilCutoff(u));
  const want = f.label ?? [];
  const refuse = f['label!'] ?? [];
  return (created, labels) => {
    const t = typeof created === 'number' ? created * 1000 : Date.parse(created);
    if (cutoffs.some((c) => t >= c)) return false;
    const l = labels ?? {};
    return want.every((v) => labelMatch(l, v)) && !refuse.some((v) => labelMatch(l, v));
  };
}
