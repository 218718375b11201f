// The window's own state: the view, selection and detail tab, list filter, sort and folds,
// toasts, the confirm dialog, the create form and the palette.
import { SORT_KEY, savedSort } from '../containerList.ts';
import type { AppState, Actions } from '../appStore.ts';
import type { SliceContext } from './context.ts';

type UiState = Pick<AppState, 'view' | 'selected' | 'checked' | 'detailTab' | 'filter' | 'sort' | 'collapsed' | 'toasts' | 'confirm' | 'createForm' | 'paletteOpen'>;
type UiActions = Pick<Actions, 'setView' | 'select' | 'setTab' | 'toggleCheck' | 'checkAll' | 'setFilter' | 'sortBy' | 'toggleProject' | 'setChecked'
  | 'openCreate' | 'closeCreate' | 'toast' | 'dismissToast' | 'ask' | 'answer' | 'setPalette'>;

const toggle = (m: Record<string, true>, k: string) => {
  const next = { ...m };
  if (next[k]) delete next[k];
  else next[k] = true;
  return next;
};

export function uiSlice({ set, get }: SliceContext): UiState & UiActions {
  let toastId = 0;
  return {
    view: 'containers',
    checked: {},
    detailTab: 'overview',
    filter: { text: '', state: 'all' },
    sort: savedSort(),
    collapsed: {},
    toasts: [],
    paletteOpen: false,
    setView: (view) => set({ view }),
    select: (selected) => set({ selected }),
    setTab: (detailTab) => set({ detailTab }),
    toggleCheck: (id) => set((s) => ({ checked: toggle(s.checked, id) })),
    checkAll: (ids, on) => set({ checked: on ? Object.fromEntries(ids.map((i) => [i, true as const])) : {} }),
    setFilter: (f) => set((s) => ({ filter: { ...s.filter, ...f } })),
    sortBy: (key) => set((s) => {
      const sort = s.sort.key === key ? { key, desc: !s.sort.desc } : { key, desc: key === 'status' };
      globalThis.localStorage?.setItem(SORT_KEY, JSON.stringify(sort));
      return { sort };
    }),
    toggleProject: (project) => set((s) => ({ collapsed: toggle(s.collapsed, project) })),
    setChecked: (ids, on) => set((s) => {
      const checked = { ...s.checked };
      for (const id of ids) {
        if (on) checked[id] = true;
        else delete checked[id];
      }
      return { checked };
    }),
    openCreate: (image) => set({ createForm: { image } }),
    closeCreate: () => set({ createForm: undefined }),
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
}
