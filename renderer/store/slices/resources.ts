// Networks and volumes: small lists, read again shortly after the engine reports a change to
// them (or to containers, which change who uses what); create, remove, and the volume browser.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type ResourcesState = Pick<AppState, 'networks' | 'volumes'>;
type ResourcesActions = Pick<Actions, 'loadNetworks' | 'loadVolumes' | 'createNetwork' | 'removeNetwork' | 'createVolume' | 'removeVolume' | 'browseVolume'>;

export function resourcesSlice({ set, get, bridge, call }: SliceContext): ResourcesState & ResourcesActions {
  return {
    async loadNetworks() {
      const list = await call('networks.list', {});
      if (list) set({ networks: list });
    },
    async loadVolumes() {
      const list = await call('volumes.list', {});
      if (list) set({ volumes: list });
    },
    async createNetwork(name, subnet) {
      const r = await call('networks.create', { name, ...(subnet ? { subnet } : {}) }, `network ${name} created`);
      if (r) await get().loadNetworks();
      return r !== undefined;
    },
    removeNetwork(n) {
      get().ask({
        title: `Remove network ${n.name}?`, body: 'Containers connected to it lose this interface when they next start.', action: 'Remove',
        run: () => void call('networks.remove', { id: n.id }).then(async (r) => {
          if (r !== undefined) await get().loadNetworks(); // null is success
        }),
      });
    },
    async createVolume(name) {
      const r = await call('volumes.create', name ? { name } : {});
      if (!r) return false;
      get().toast('ok', `volume ${r.name.slice(0, 24)} created`);
      await get().loadVolumes();
      return true;
    },
    removeVolume(v) {
      get().ask({
        title: `Remove volume ${v.name.slice(0, 24)}?`, body: 'Its data is deleted and cannot be recovered.', action: 'Remove',
        run: () => void call('volumes.remove', { id: v.name }).then(async (r) => {
          if (r !== undefined) await get().loadVolumes(); // null is success
        }),
      });
    },
    browseVolume: (name, path) => bridge.call('volumes.browse', { id: name, path }),
  };
}
