// The window: sidebar, the current view, and the overlays.
import { EnginesView } from './features/engines/EnginesView.tsx';
import { useEffect } from 'react';
import { ConfirmDialog, ConnectionBanner, LimitsBanner, Toasts } from './components/Overlays.tsx';
import { Palette } from './components/Palette.tsx';
import { Sidebar } from './components/Sidebar.tsx';
import { ActivityView } from './features/activity/ActivityView.tsx';
import { ContainersView } from './features/containers/ContainersView.tsx';
import { CreateForm } from './features/containers/CreateForm.tsx';
import { ImagesView } from './features/images/ImagesView.tsx';
import { BuildsView } from './features/builds/BuildsView.tsx';
import { NetworksView, VolumesView } from './features/resources/ResourcesView.tsx';
import { useApp, useAppStore } from './store/context.tsx';
import type { View } from './store/appStore.ts';

const VIEWS: View[] = ['containers', 'images', 'builds', 'volumes', 'networks', 'activity', 'engines'];

export function App() {
  const view = useApp((s) => s.view);
  const store = useAppStore();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = store.getState();
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        s.setPalette(!s.paletteOpen);
      } else if (e.altKey && /^[1-7]$/.test(e.key)) {
        s.setView(VIEWS[Number(e.key) - 1]);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
  return (
    <div className="app">
      <Sidebar />
      <main className="main">
        <ConnectionBanner />
        <LimitsBanner />
        {view === 'containers' && <ContainersView />}
        {view === 'images' && <ImagesView />}
        {view === 'builds' && <BuildsView />}
        {view === 'volumes' && <VolumesView />}
        {view === 'networks' && <NetworksView />}
        {view === 'activity' && <ActivityView />}
        {view === 'engines' && <EnginesView />}
      </main>
      <CreateForm />
      <ConfirmDialog />
      <Palette />
      <Toasts />
    </div>
  );
}
