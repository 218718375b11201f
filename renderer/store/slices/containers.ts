// Containers: the list (kept by event deltas), lifecycle actions, run, and what a detail reads
// on demand (inspect, stats history, the log stream).
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type ContainersState = Pick<AppState, 'containers' | 'containersLoaded'>;
type ContainersActions = Pick<Actions, 'containerAction' | 'removeContainers' | 'run' | 'inspectContainer' | 'statsHistory' | 'streamLogs'>;

export function containersSlice({ set, get, bridge, call }: SliceContext): ContainersState & ContainersActions {
  const nameOf = (id: string) => get().containers[id]?.name ?? id.slice(0, 12);
  return {
    containers: {},
    containersLoaded: false,
    async containerAction(action, ids) {
      const past = { start: 'started', stop: 'stopped', restart: 'restarted', pause: 'paused', unpause: 'resumed', kill: 'killed' }[action];
      await Promise.all(ids.map((id) => call(`containers.${action}`, { id }, `${nameOf(id)} ${past}`)));
    },
    removeContainers(ids, force = true) {
      const names = ids.map(nameOf);
      get().ask({
        title: ids.length === 1 ? `Remove ${names[0]}?` : `Remove ${ids.length} containers?`,
        body: `${names.join(', ')} will be stopped and deleted with ${ids.length === 1 ? 'its' : 'their'} writable layer. This cannot be undone.`,
        action: 'Remove',
        run: () => {
          void Promise.all(ids.map((id) => call('containers.remove', { id, force }, `${nameOf(id)} removed`)));
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
    inspectContainer: (id) => bridge.call('containers.inspect', { id }),
    statsHistory: (id) => bridge.call('containers.statsHistory', { id }),
    streamLogs: (id, sink) => bridge.open('logs', { id, follow: true, tail: 100_000 }, sink),
  };
}
