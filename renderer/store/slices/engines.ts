// Engines: Berth's own, the docker contexts and DOCKER_HOST, with their status; switching the
// window to another engine (every list is then read again), adding, editing and removing
// contexts, making one the docker CLI's default, and the running containers of all of them.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type EnginesState = Pick<AppState, 'engines' | 'allRunning'>;
type EnginesActions = Pick<Actions, 'loadEngines' | 'useEngine' | 'saveEngine' | 'removeEngine' | 'makeDefaultEngine' | 'loadAllRunning'>;

export function enginesSlice({ set, get, call }: SliceContext): EnginesState & EnginesActions {
  return {
    async loadEngines() {
      const list = await call('engines.list', {});
      if (list) set({ engines: list });
    },
    async useEngine(name) {
      const r = await call('engines.use', { name });
      if (r === undefined) return false;
      const url = globalThis.location ? new URL(globalThis.location.href) : undefined;
      if (url && url.searchParams.get('engine') !== name) {
        url.searchParams.set('engine', name);
        globalThis.history?.replaceState(null, '', url);
      }
      return true;
    },
    async saveEngine(a) {
      const r = await call('engines.save', a, `engine ${a.name} saved (the docker CLI sees it as a context)`);
      if (r === undefined) return false;
      await get().loadEngines();
      return true;
    },
    removeEngine(name) {
      get().ask({
        title: `Remove the context ${name}?`, body: 'The docker CLI loses it too. Containers on that engine are not touched.', action: 'Remove',
        run: () => void call('engines.remove', { name }, `context ${name} removed`).then(() => get().loadEngines()),
      });
    },
    makeDefaultEngine(name) {
      get().ask({
        title: `Make ${name} the docker default?`, body: `The docker CLI (docker context use) will talk to ${name} when no DOCKER_HOST is set.`, action: 'Make default',
        run: () => void call('engines.makeDefault', { name }, `docker now uses ${name} by default`).then(() => get().loadEngines()),
      });
    },
    async loadAllRunning() {
      const r = await call('engines.containers', {});
      if (r) set({ allRunning: r });
    },
  };
}
