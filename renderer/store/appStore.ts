// One zustand store per window, built from a bridge: slices per domain, lists updated by
// event deltas. Actions are the only code that calls the bridge; every action reports back
// through a toast so each click gives feedback.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { MethodArgs, MethodName, MethodResult, RunArgs } from '../../common/contract.ts';
import type { ContainerSummary, EngineEventView, EngineInfo, ImageView, JobView } from '../../common/views.ts';
import type { Bridge, BridgeError, ConnectionState } from '../bridge.ts';
import { StatsBuffers } from './statsBuffers.ts';

export type View = 'containers' | 'images' | 'volumes' | 'networks' | 'activity';
export type DetailTab = 'overview' | 'logs' | 'terminal' | 'stats' | 'inspect';

export interface Toast {
  id: number;
  kind: 'ok' | 'error';
  text: string;
}

export interface Confirm {
  title: string;
  body: string;
  action: string;
  run(): void;
}

export interface AppState {
  connection: { state: ConnectionState; detail?: string };
  info?: EngineInfo;
  containers: Record<string, ContainerSummary>;
  containersLoaded: boolean;
  images: ImageView[];
  imagesLoaded: boolean;
  jobs: Record<string, JobView>;
  events: EngineEventView[];
  view: View;
  selected?: string;
  checked: Record<string, true>;
  detailTab: DetailTab;
  filter: { text: string; state: 'all' | 'running' | 'paused' | 'exited' | 'created' };
  sort: ContainerSort;
  /** compose projects whose containers are folded under their row */
  collapsed: Record<string, true>;
  toasts: Toast[];
  confirm?: Confirm;
  createForm?: { image?: string };
  selectedImage?: string;
  paletteOpen: boolean;
}

export interface Actions {
  refresh(): Promise<void>;
  setView(v: View): void;
  select(id: string | undefined): void;
  setTab(t: DetailTab): void;
  toggleCheck(id: string): void;
  checkAll(ids: string[], on: boolean): void;
  setFilter(f: Partial<AppState['filter']>): void;
  /** Sorts the list by a column; the same column again reverses the order. */
  sortBy(key: ContainerSort['key']): void;
  toggleProject(project: string): void;
  /** Adds ids to the selection, or takes them out, leaving the rest as it is. */
  setChecked(ids: string[], on: boolean): void;
  containerAction(action: 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill', ids: string[]): Promise<void>;
  removeContainers(ids: string[], force?: boolean): void;
  run(args: RunArgs): Promise<BridgeError | undefined>;
  openCreate(image?: string): void;
  closeCreate(): void;
  pull(ref: string): Promise<void>;
  push(ref: string): Promise<void>;
  cancelJob(id: string): Promise<void>;
  removeImage(id: string, force?: boolean): void;
  pruneImages(all: boolean): Promise<void>;
  tagImage(id: string, target: string): Promise<boolean>;
  selectImage(id: string | undefined): void;
  toast(kind: Toast['kind'], text: string): void;
  dismissToast(id: number): void;
  ask(c: Confirm): void;
  answer(ok: boolean): void;
  setPalette(open: boolean): void;
}

export type AppStore = StoreApi<AppState & Actions> & { stats: StatsBuffers; bridge: Bridge; dispose(): void };

const nameOf = (s: AppState, id: string) => s.containers[id]?.name ?? id.slice(0, 12);

export function createAppStore(bridge: Bridge): AppStore {
  const stats = new StatsBuffers();
  let toastId = 0;
  const store = createStore<AppState & Actions>()((set, get) => {
    const call = async <M extends MethodName>(m: M, args: MethodArgs<M>, done?: string): Promise<MethodResult<M> | undefined> => {
      const r = await bridge.call(m, args);
      if (!r.ok) {
        get().toast('error', r.error.message);
        return undefined;
      }
      if (done) get().toast('ok', done);
      return r.value;
    };
    return {
      connection: { state: 'connecting' },
      containers: {},
      containersLoaded: false,
      images: [],
      imagesLoaded: false,
      jobs: {},
      events: [],
      view: 'containers',
      checked: {},
      detailTab: 'overview',
      filter: { text: '', state: 'all' },
      sort: savedSort(),
      collapsed: {},
      toasts: [],
      paletteOpen: false,

      async refresh() {
        const [info, containers, images, jobs, events] = await Promise.all([
          bridge.call('system.info', {}), bridge.call('containers.list', {}), bridge.call('images.list', {}),
          bridge.call('jobs.list', {}), bridge.call('events.recent', {}),
        ]);
        set({
          ...(info.ok ? { info: info.value } : {}),
          ...(containers.ok ? { containers: Object.fromEntries(containers.value.map((c) => [c.id, c])), containersLoaded: true } : {}),
          ...(images.ok ? { images: images.value, imagesLoaded: true } : {}),
          ...(jobs.ok ? { jobs: Object.fromEntries(jobs.value.map((j) => [j.id, j])) } : {}),
          ...(events.ok ? { events: events.value.slice(-200) } : {}),
        });
      },
      setView: (view) => set({ view }),
      select: (selected) => set({ selected }),
      setTab: (detailTab) => set({ detailTab }),
      toggleCheck: (id) => set((s) => {
        const checked = { ...s.checked };
        if (checked[id]) delete checked[id];
        else checked[id] = true;
        return { checked };
      }),
      checkAll: (ids, on) => set({ checked: on ? Object.fromEntries(ids.map((i) => [i, true as const])) : {} }),
      setFilter: (f) => set((s) => ({ filter: { ...s.filter, ...f } })),
      sortBy: (key) => set((s) => {
        const sort = s.sort.key === key ? { key, desc: !s.sort.desc } : { key, desc: key === 'status' };
        globalThis.localStorage?.setItem(SORT_KEY, JSON.stringify(sort));
        return { sort };
      }),
      toggleProject: (project) => set((s) => {
        const collapsed = { ...s.collapsed };
        if (collapsed[project]) delete collapsed[project];
        else collapsed[project] = true;
        return { collapsed };
      }),
      setChecked: (ids, on) => set((s) => {
        const checked = { ...s.checked };
        for (const id of ids) {
          if (on) checked[id] = true;
          else delete checked[id];
        }
        return { checked };
      }),

      async containerAction(action, ids) {
        const past = { start: 'started', stop: 'stopped', restart: 'restarted', pause: 'paused', unpause: 'resumed', kill: 'killed' }[action];
        await Promise.all(ids.map((id) => call(`containers.${action}`, { id }, `${nameOf(get(), id)} ${past}`)));
      },
      removeContainers(ids, force = true) {
        const names = ids.map((id) => nameOf(get(), id));
        get().ask({
          title: ids.length === 1 ? `Remove ${names[0]}?` : `Remove ${ids.length} containers?`,
          body: `${names.join(', ')} will be stopped and deleted with ${ids.length === 1 ? 'its' : 'their'} writable layer. This cannot be undone.`,
          action: 'Remove',
          run: () => {
            void Promise.all(ids.map((id) => call('containers.remove', { id, force }, `${nameOf(get(), id)} removed`)));
            set((s) => ({ checked: Object.fromEntries(Object.keys(s.checked).filter((k) => !ids.includes(k)).map((k) => [k, true as const])) }));
          },
        });
      },
      async run(args) {
        const r = await bridge.call('containers.run', args);
        if (!r.ok) return r.error;
        get().toast('ok', `${args.name ?? args.image} is running`);
        set({ createForm: undefined, view: 'containers', selected: r.value.id, detailTab: 'overview' });
        return undefined;
      },
      openCreate: (image) => set({ createForm: { image } }),
      closeCreate: () => set({ createForm: undefined }),
      async pull(ref) {
        const r = await call('images.pull', { ref });
        if (r) get().toast('ok', `pulling ${ref}`);
      },
      async push(ref) {
        const r = await call('images.push', { ref });
        if (r) get().toast('ok', `pushing ${ref}`);
      },
      async cancelJob(jobId) {
        await call('jobs.cancel', { jobId });
      },
      removeImage(id, force = false) {
        const img = get().images.find((i) => i.id === id);
        const label = img?.tags[0] ?? id.slice(7, 19);
        get().ask({
          title: `Remove ${label}?`,
          body: img && img.tags.length > 1 ? `The image has ${img.tags.length} tags; all are removed with it.` : 'Layers no other image uses are deleted.',
          action: 'Remove',
          run: () => void call('images.remove', { id, force }, `${label} removed`),
        });
      },
      async pruneImages(all) {
        await call('images.prune', { all });
      },
      async tagImage(id, target) {
        return (await call('images.tag', { id, target }, `tagged ${target}`)) !== undefined;
      },
      selectImage: (selectedImage) => set({ selectedImage }),
      toast(kind, text) {
        const id = ++toastId;
        set((s) => ({ toasts: [...s.toasts.slice(-4), { id, kind, text }] }));
        setTimeout(() => get().dismissToast(id), kind === 'error' ? 8000 : 3000);
      },
      dismissToast: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
      ask: (confirm) => set({ confirm }),
      answer(ok) {
        const c = get().confirm;
        set({ confirm: undefined });
        if (ok) c?.run();
      },
      setPalette: (paletteOpen) => set({ paletteOpen }),
    };
  });

  const offs = [
    bridge.onConnection((state, detail) => {
      store.setState({ connection: { state, detail } });
      if (state === 'open') void store.getState().refresh();
    }),
    bridge.on('container', ({ id, summary }) => store.setState((s) => {
      const containers = { ...s.containers };
      if (summary) containers[id] = summary;
      else {
        delete containers[id];
        stats.forget(id);
      }
      return { containers, ...(summary || s.selected !== id ? {} : { selected: undefined }) };
    })),
    bridge.on('images', (images) => store.setState({ images, imagesLoaded: true })),
    bridge.on('job', (j) => store.setState((s) => ({ jobs: { ...s.jobs, [j.id]: j } }))),
    bridge.on('engine', (e) => store.setState((s) => ({ events: [...s.events.slice(-199), e] }))),
    bridge.on('stats', (batch) => stats.add(batch)),
    bridge.on('mark', (m) => stats.mark(m)),
  ];
  return Object.assign(store, { stats, bridge, dispose: () => offs.forEach((o) => o()) });
}

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

const SORT_KEY = 'berth.containerSort';

/** The order chosen last time, kept across restarts like Docker Desktop's. */
function savedSort(): ContainerSort {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(SORT_KEY) ?? 'null') as ContainerSort | null;
    if (v && v.key in SORT_KEYS && typeof v.desc === 'boolean') return { key: v.key, desc: v.desc };
  } catch {
    /* an unreadable setting: the default order */
  }
  return { key: 'created', desc: true };
}

/** Containers as the list shows them: filtered, then in the chosen order. */
export function visibleContainers(s: Pick<AppState, 'containers' | 'filter' | 'sort'>): ContainerSummary[] {
  const text = s.filter.text.trim().toLowerCase();
  const by = SORT_KEYS[s.sort.key];
  const sign = s.sort.desc ? -1 : 1;
  return Object.values(s.containers)
    .filter((c) => s.filter.state === 'all' || c.state === s.filter.state)
    .filter((c) => !text || c.name.toLowerCase().includes(text) || c.image.toLowerCase().includes(text) || c.id.startsWith(text)
      || Object.entries(c.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(text)))
    .sort((a, b) => sign * by(a, b) || a.name.localeCompare(b.name));
}
