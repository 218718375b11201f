// Builds: the engine's build history (docker CLI, compose and the app's own), kept up to date by
// `build` events; the form's folder check (stages, size) and start; a build's record on demand.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type BuildsState = Pick<AppState, 'builds' | 'buildsLoaded' | 'selectedBuild'>;
type BuildsActions = Pick<Actions, 'loadBuilds' | 'startBuild' | 'selectBuild' | 'removeBuild' | 'cancelBuild' | 'inspectFolder' | 'buildRecord' | 'commitContainer' | 'buildCache'>;

export function buildsSlice({ set, get, bridge, call }: SliceContext): BuildsState & BuildsActions {
  return {
    builds: [],
    buildsLoaded: false,
    async loadBuilds() {
      const r = await call('builds.list', {});
      if (r) set({ builds: r, buildsLoaded: true });
    },
    async startBuild(args) {
      const r = await call('builds.start', args);
      if (r) get().toast('ok', `building ${args.tags?.[0] ?? args.folder}`);
      return !!r;
    },
    selectBuild: (selectedBuild) => set({ selectedBuild }),
    removeBuild(id) {
      get().ask({
        title: 'Delete this build from the history?',
        body: 'Its log goes; the image it made stays.',
        action: 'Delete',
        run: () => void call('builds.remove', { id }, 'build deleted').then((ok) => {
          if (ok !== undefined) set((s) => ({ builds: s.builds.filter((b) => b.id !== id), selectedBuild: s.selectedBuild === id ? undefined : s.selectedBuild }));
        }),
      });
    },
    async cancelBuild(id) {
      await call('builds.cancel', { id }, 'build cancelled');
    },
    async buildCache(prune) {
      const r = await call('builds.cache', { prune });
      if (r && prune) get().toast('ok', `build cache pruned: ${r.reclaimed ?? 0} bytes freed`);
      return r;
    },
    inspectFolder: (folder, dockerfile) => bridge.call('builds.inspectFolder', { folder, dockerfile }),
    buildRecord: (id) => bridge.call('builds.get', { id }),
    async commitContainer(id, repo) {
      const r = await call('images.commit', { id, repo: repo || undefined }, `committed ${repo || id.slice(0, 12)}`);
      return r?.id;
    },
  };
}
