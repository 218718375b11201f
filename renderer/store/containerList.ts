// The containers list as the UI shows it: filtered, sorted by a chosen column (kept across
// restarts), with compose projects folded under one row.
import type { ContainerSummary } from '../../common/views.ts';

/**
 * The list's order: by creation (newest first until a column is chosen), name, image, state
 * (running, paused, restarting, created, exited, dead) or status (when it last started, or
 * stopped for a stopped one). Ties go by name, so the order never flickers.
 */
export interface ContainerSort {
  key: 'created' | 'name' | 'image' | 'state' | 'status';
  desc: boolean;
}

const STATE_ORDER = ['running', 'paused', 'restarting', 'created', 'removing', 'exited', 'dead'];
const statusTime = (c: ContainerSummary) => (c.state === 'running' || c.state === 'paused' ? c.startedAt : c.finishedAt || c.created);
/** ISO times and other strings compared by code unit, not by locale */
const order = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
const SORT_KEYS: Record<ContainerSort['key'], (a: ContainerSummary, b: ContainerSummary) => number> = {
  created: (a, b) => order(a.created, b.created),
  name: (a, b) => a.name.localeCompare(b.name),
  image: (a, b) => a.image.localeCompare(b.image),
  state: (a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state),
  status: (a, b) => order(statusTime(a), statusTime(b)),
};

const COMPOSE_PROJECT = 'com.docker.compose.project';

export type ListItem =
  | { kind: 'container'; c: ContainerSummary; grouped: boolean }
  | { kind: 'group'; project: string; members: ContainerSummary[]; open: boolean };

/**
 * The list's rows, as Docker Desktop shows them: the containers of a compose project under one
 * row for the project, placed where its first container comes in the chosen order, and left
 * out while the project is folded. Other containers are rows of their own.
 */
export function listItems(list: ContainerSummary[], collapsed: Record<string, true>): ListItem[] {
  const members = new Map<string, ContainerSummary[]>();
  for (const c of list) {
    const p = c.labels[COMPOSE_PROJECT];
    if (!p) continue;
    const m = members.get(p);
    if (m) m.push(c);
    else members.set(p, [c]);
  }
  const items: ListItem[] = [];
  for (const c of list) {
    const p = c.labels[COMPOSE_PROJECT];
    if (!p) items.push({ kind: 'container', c, grouped: false });
    else if (members.get(p)![0] === c) {
      items.push({ kind: 'group', project: p, members: members.get(p)!, open: !collapsed[p] });
      if (!collapsed[p]) for (const m of members.get(p)!) items.push({ kind: 'container', c: m, grouped: true });
    }
  }
  return items;
}

export const SORT_KEY = 'berth.containerSort';

/** The order chosen last time, kept across restarts like Docker Desktop's. */
export function savedSort(): ContainerSort {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(SORT_KEY) ?? 'null') as ContainerSort | null;
    if (v && v.key in SORT_KEYS && typeof v.desc === 'boolean') return { key: v.key, desc: v.desc };
  } catch {
    /* an unreadable setting: the default order */
  }
  return { key: 'created', desc: true };
}

/** Containers as the list shows them: filtered, then in the chosen order. */
export function visibleContainers(s: { containers: Record<string, ContainerSummary>; filter: ListFilter; sort: ContainerSort }): ContainerSummary[] {
  const text = s.filter.text.trim().toLowerCase();
  const by = SORT_KEYS[s.sort.key];
  const sign = s.sort.desc ? -1 : 1;
  return Object.values(s.containers)
    .filter((c) => s.filter.state === 'all' || c.state === s.filter.state)
    .filter((c) => !text || c.name.toLowerCase().includes(text) || c.image.toLowerCase().includes(text) || c.id.startsWith(text)
      || Object.entries(c.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(text)))
    .sort((a, b) => sign * by(a, b) || a.name.localeCompare(b.name));
}

export interface ListFilter {
  text: string;
  state: 'all' | 'running' | 'paused' | 'exited' | 'created';
}
