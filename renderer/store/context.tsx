// The store reaches components through context, never as a module singleton.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { AppState, Actions, AppStore } from './appStore.ts';

export const StoreContext = createContext<AppStore | null>(null);

export function useAppStore(): AppStore {
  const s = useContext(StoreContext);
  if (!s) throw new Error('useAppStore outside StoreContext');
  return s;
}

export function useApp<T>(selector: (s: AppState & Actions) => T): T {
  return useStore(useAppStore(), selector);
}
