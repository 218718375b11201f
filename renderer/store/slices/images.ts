// Images: the list (replaced whenever the engine reports a change), pull and push jobs, tag,
// remove, prune, and an image's inspect and history on demand.
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type ImagesState = Pick<AppState, 'images' | 'imagesLoaded' | 'selectedImage'>;
type ImagesActions = Pick<Actions, 'pull' | 'push' | 'removeImage' | 'pruneImages' | 'tagImage' | 'selectImage' | 'inspectImage'>;

export function imagesSlice({ set, get, bridge, call }: SliceContext): ImagesState & ImagesActions {
  return {
    images: [],
    imagesLoaded: false,
    async pull(ref) {
      if (await call('images.pull', { ref })) get().toast('ok', `pulling ${ref}`);
    },
    async push(ref) {
      if (await call('images.push', { ref })) get().toast('ok', `pushing ${ref}`);
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
    inspectImage: (id) => bridge.call('images.inspect', { id }),
  };
}
