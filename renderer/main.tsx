// Composition root of the window: choose the transport, build the store and the terminal
// sessions, render. Electron's preload exposes `berthIpc`; without it we are in web mode.
import { createRoot } from 'react-dom/client';
import '@xterm/xterm/css/xterm.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { App } from './App.tsx';
import { StoreContext } from './store/context.tsx';
import { createAppStore } from './store/appStore.ts';
import { TerminalContext } from './features/terminal/TerminalPanel.tsx';
import { TerminalSessions } from './features/terminal/terminalSessions.ts';
import { connectIpc, type IpcPort } from './transports/ipcBridge.ts';
import { connectWebSocket } from './transports/wsBridge.ts';

declare global {
  interface Window {
    berthIpc?: IpcPort;
    berth?: { store: ReturnType<typeof createAppStore>; terminals: TerminalSessions };
  }
}

const token = new URLSearchParams(location.search).get('token') ?? '';
const bridge = window.berthIpc
  ? connectIpc(window.berthIpc)
  : connectWebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?token=${encodeURIComponent(token)}`);
const store = createAppStore(bridge);
const terminals = new TerminalSessions(bridge);
// Exposed for the end-to-end tests and for debugging from devtools.
window.berth = { store, terminals };

createRoot(document.getElementById('root') as HTMLElement).render(
  <StoreContext.Provider value={store}>
    <TerminalContext.Provider value={terminals}>
      <App />
    </TerminalContext.Provider>
  </StoreContext.Provider>,
);
