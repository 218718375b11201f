// One zustand store per window, built from a bridge out of domain slices (store/slices): ui,
// containers, images, activity, resources. Lists update by event deltas. Actions are the only
// code that calls the bridge; components call actions. Every action reports back through a
// toast so each click gives feedback.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { MethodArgs, MethodResult, RunArgs } from '../../common/contract.ts';
import type { BuildSummary } from '../../common/build.ts';
import type { ContainerSummary, EngineContainer, EngineEventView, EngineInfo, EngineView, ImageView, MachineView, JobView, NetworkSummary, VolumeSummary } from '../../common/views.ts';
import type { Bridge, BridgeError, BridgeResult, ConnectionState, StreamControl, StreamHandlers } from '../bridge.ts';
import type { ContainerSort, ListFilter } from './containerList.ts';
import { activitySlice } from './slices/activity.ts';
import { containersSlice } from './slices/containers.ts';
import type { SliceContext } from './slices/context.ts';
import { imagesSlice } from './slices/images.ts';
import { buildsSlice } from './slices/builds.ts';
import { enginesSlice } from './slices/engines.ts';
import { machinesSlice } from './slices/machines.ts';
import { resourcesSlice } from './slices/resources.ts';
import { uiSlice } from './slices/ui.ts';
import { StatsBuffers } from './statsBuffers.ts';

export { listItems, visibleContainers, type ContainerSort, type ListItem } from './containerList.ts';

export type View = 'containers' | 'images' | 'builds' | 'volumes' | 'networks' | 'activity' | 'engines';
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
  filter: ListFilter;
  sort: ContainerSort;
  /** compose projects whose containers are folded under their row */
  collapsed: Record<string, true>;
  toasts: Toast[];
  confirm?: Confirm;
  createForm?: { image?: string };
  selectedImage?: string;
  paletteOpen: boolean;
  builds: BuildSummary[];
  buildsLoaded: boolean;
  selectedBuild?: string;
  /** undefined until first read */
  networks?: NetworkSummary[];
  volumes?: VolumeSummary[];
  /** undefined until first read */
  engines?: EngineView[];
  allRunning?: { containers: EngineContainer[]; errors: { engine: string; error: string }[] };
  /** undefined until first read */
  machines?: MachineView[];
  machineConsole?: { name: string; lines: string[] };
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
  inspectContainer(id: string): Promise<BridgeResult<MethodResult<'containers.inspect'>>>;
  statsHistory(id: string): Promise<BridgeResult<MethodResult<'containers.statsHistory'>>>;
  streamLogs(id: string, handlers: StreamHandlers<'logs'>): StreamControl<'logs'>;
  inspectImage(id: string): Promise<BridgeResult<MethodResult<'images.inspect'>>>;
  loadNetworks(): Promise<void>;
  loadVolumes(): Promise<void>;
  createNetwork(name: string, subnet?: string): Promise<boolean>;
  removeNetwork(n: NetworkSummary): void;
  createVolume(name?: string): Promise<boolean>;
  removeVolume(v: VolumeSummary): void;
  browseVolume(name: string, path: string): Promise<BridgeResult<MethodResult<'volumes.browse'>>>;
  loadBuilds(): Promise<void>;
  startBuild(args: MethodArgs<'builds.start'>): Promise<boolean>;
  selectBuild(id: string | undefined): void;
  removeBuild(id: string): void;
  /** stops a running build (the app's, the docker CLI's or compose's) */
  cancelBuild(id: string): Promise<void>;
  inspectFolder(folder: string, dockerfile?: string): Promise<BridgeResult<MethodResult<'builds.inspectFolder'>>>;
  buildRecord(id: string): Promise<BridgeResult<MethodResult<'builds.get'>>>;
  /** the new image's id, or undefined after an error toast */
  commitContainer(id: string, repo?: string): Promise<string | undefined>;
  /** the build cache's size; with prune, after pruning it */
  buildCache(prune?: boolean): Promise<MethodResult<'builds.cache'> | undefined>;
  loadEngines(): Promise<void>;
  /** shows another engine in this window; false after an error toast */
  useEngine(name: string): Promise<boolean>;
  saveEngine(a: MethodArgs<'engines.save'>): Promise<boolean>;
  removeEngine(name: string): void;
  makeDefaultEngine(name: string): void;
  loadAllRunning(): Promise<void>;
  loadMachines(): Promise<void>;
  /** creates the machine, then starts it (the first start builds the guest image) */
  createMachine(a: MethodArgs<'machines.create'>): Promise<boolean>;
  startMachine(name: string): Promise<boolean>;
  stopMachine(name: string): Promise<boolean>;
  setMachine(a: MethodArgs<'machines.set'>): Promise<boolean>;
  /** asks first: the data disk goes too */
  removeMachine(name: string): void;
  loadMachineConsole(name: string): Promise<void>;
}

export type AppStore = StoreApi<AppState & Actions> & { stats: StatsBuffers; bridge: Bridge; dispose(): void };

/** Engine events after which the networks and volumes lists are read again. */
const RESOURCE_EVENTS: Record<string, 'networks' | 'volumes' | 'both'> = { network: 'networks', volume: 'volumes', container: 'both' };

export function createAppStore(bridge: Bridge): AppStore {
  const stats = new StatsBuffers();
  const store = createStore<AppState & Actions>()((set, get) => {
    const ctx: SliceContext = {
      set, get, bridge,
      async call(m, args, done) {
        const r = await bridge.call(m, args);
        if (!r.ok) {
          get().toast('error', r.error.message);
          return undefined;
        }
        if (done) get().toast('ok', done);
        return r.value;
      },
    };
    return {
      connection: { state: 'connecting' },
      ...uiSlice(ctx),
      ...containersSlice(ctx),
      ...imagesSlice(ctx),
      ...buildsSlice(ctx),
      ...activitySlice(ctx),
      ...resourcesSlice(ctx),
      ...enginesSlice(ctx),
      ...machinesSlice(ctx),
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
    };
  });

  // Networks and volumes are re-read shortly after a change to them, once something showed them.
  let reread: ReturnType<typeof setTimeout> | undefined;
  const pending = new Set<'networks' | 'volumes'>();
  const resourcesChanged = (e: EngineEventView) => {
    const which = RESOURCE_EVENTS[e.type];
    if (!which) return;
    for (const k of which === 'both' ? (['networks', 'volumes'] as const) : [which]) if (store.getState()[k]) pending.add(k);
    if (!pending.size) return;
    clearTimeout(reread);
    reread = setTimeout(() => {
      for (const k of pending) void (k === 'networks' ? store.getState().loadNetworks() : store.getState().loadVolumes());
      pending.clear();
    }, 100);
  };
  // ?engine=NAME in web mode picks the engine once the connection opens.
  let wanted = globalThis.location ? new URL(globalThis.location.href).searchParams.get('engine') ?? undefined : undefined;
  const offs = [
    bridge.onConnection((state, detail) => {
      store.setState({ connection: { state, detail } });
      if (state !== 'open') return;
      if (wanted) {
        const name = wanted;
        wanted = undefined;
        // Shown already, switched, or refused (a toast says why): read what is shown now.
        void store.getState().useEngine(name).then(() => {
          void store.getState().refresh();
          void store.getState().loadEngines();
        });
        return;
      }
      void store.getState().refresh();
      void store.getState().loadEngines();
      // Machines are the app's (desktop, web mode); a transport without them says so: no toast.
      void bridge.call('machines.list', {}).then((r) => r.ok && store.setState({ machines: r.value }));
    }),
    // Another engine is shown: nothing of the previous one stays.
    bridge.on('engines', () => {
      stats.clear();
      store.setState({
        containers: {}, containersLoaded: false, images: [], imagesLoaded: false, jobs: {}, events: [], selected: undefined, checked: {},
        selectedImage: undefined, builds: [], buildsLoaded: false, selectedBuild: undefined, networks: undefined, volumes: undefined, info: undefined,
      });
      void store.getState().refresh();
      void store.getState().loadEngines();
      const s = store.getState();
      if (s.view === 'builds') void s.loadBuilds();
      if (s.view === 'networks') void s.loadNetworks();
      if (s.view === 'volumes') void s.loadVolumes();
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
    bridge.on('machine', (m) => store.setState((s) => ({ machines: [...(s.machines ?? []).filter((x) => x.name !== m.name), m].sort((a, b) => a.name.localeCompare(b.name)) }))),
    bridge.on('job', (j) => store.setState((s) => ({ jobs: { ...s.jobs, [j.id]: j } }))),
    bridge.on('build', (b) => store.setState((s) => ({ builds: [b, ...s.builds.filter((x) => x.id !== b.id)].sort((x, y) => y.startedAt - x.startedAt) }))),
    bridge.on('engine', (e) => {
      store.setState((s) => ({ events: [...s.events.slice(-199), e] }));
      resourcesChanged(e);
    }),
    bridge.on('stats', (batch) => stats.add(batch)),
    bridge.on('mark', (m) => stats.mark(m)),
    () => clearTimeout(reread),
  ];
  return Object.assign(store, { stats, bridge, dispose: () => offs.forEach((o) => o()) });
}

